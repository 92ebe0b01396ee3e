import type { Compilable, CompiledQuery, QueryResult } from 'kysely';
import type { Executor } from './database.js';

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
