import type { Compilable, CompiledQuery, Insertable, QueryResult } from 'kysely';
import type { Executor } from './database.js';
import type { Database } from './schema.js';

/** Stands for the i-th value of a reusable query (typed `never`, so it fits any column). */
export type Slot = (index: number) => never;

/**
 * A hot query whose shape never changes (the balance read, the job insert), built and compiled
 * by Kysely once per database and then run with each call's values. On the hottest paths
 * Kysely's per-call build and compile cost more than SQLite takes to run the statement (bench
 * profiles), and the prepared-statement caches below it already key on the SQL text.
 *
 * `build` is called once with markers in place of the values; each must come out as exactly
 * one bound parameter, so a builder that inlines, transforms or drops a value is refused at
 * first use instead of silently binding the wrong thing.
 */
export function reusableQuery<Row>(
  arity: number,
  build: (db: Executor, value: Slot) => Compilable<Row>,
): (db: Executor, values: readonly unknown[]) => Promise<QueryResult<Row>> {
  const compiled = new WeakMap<object, { query: CompiledQuery<Row>; slots: number[] }>();
  return async (db, values) => {
    if (values.length !== arity) throw new Error(`reusableQuery: expected ${arity} values, got ${values.length}`);
    const adapter = db.getExecutor().adapter;
    let entry = compiled.get(adapter);
    if (!entry) {
      const markers = Array.from({ length: arity }, (_, i) => `\u0000reusable-${i}\u0000`);
      const query = build(db, (i) => markers[i] as never).compile();
      const slots = query.parameters.map((p) => markers.indexOf(p as string));
      if (slots.includes(-1) || slots.length !== arity || new Set(slots).size !== arity) {
        throw new Error(`reusableQuery: "${query.sql}" does not bind each value exactly once`);
      }
      entry = { query, slots };
      compiled.set(adapter, entry);
    }
    const { query, slots } = entry;
    return db.executeQuery<Row>({ ...query, parameters: slots.map((slot) => values[slot]) });
  };
}

/**
 * `insert into <table> (…) values …[on conflict (…) do nothing]`, compiled once per column set
 * and row count: the hot inserts of the ledger, the outbox and the orders. The columns are the
 * first row's keys; every row must have the same ones (undefined is refused, null is a value).
 */
export function reusableInsert<Table extends keyof Database & string>(
  table: Table,
  options: { onConflictDoNothing?: readonly (keyof Database[Table] & string)[] } = {},
): (db: Executor, rows: readonly Insertable<Database[Table]>[]) => Promise<QueryResult<unknown>> {
  const shapes = new Map<string, ReturnType<typeof reusableQuery<unknown>>>();
  return async (db, rows) => {
    const columns = Object.keys(rows[0] ?? {});
    const shape = `${rows.length}:${columns.join(',')}`;
    let run = shapes.get(shape);
    if (!run) {
      const count = rows.length;
      run = reusableQuery<unknown>(count * columns.length, (executor, value) => {
        const values = Array.from({ length: count }, (_, r) =>
          Object.fromEntries(columns.map((column, c) => [column, value(r * columns.length + c)])),
        );
        // Kysely's typed builders cannot follow a table chosen at run time; the signature above checks the rows.
        const insert = executor.insertInto(table as never).values(values as never);
        const conflict = options.onConflictDoNothing;
        return conflict ? insert.onConflict((oc) => oc.columns(conflict as never).doNothing()) : insert;
      });
      shapes.set(shape, run);
    }
    const values: unknown[] = [];
    for (const row of rows) {
      const record = row as Record<string, unknown>;
      if (Object.keys(record).length !== columns.length) throw new Error(`reusableInsert into ${table}: rows differ in their columns`);
      for (const column of columns) {
        const value = record[column];
        if (value === undefined) throw new Error(`reusableInsert into ${table}: column ${column} is undefined`);
        values.push(value);
      }
    }
    return run(db, values);
  };
}
