import type { Compilable, CompiledQuery, QueryResult } from 'kysely';
import type { Executor } from './database.js';

/**
 * A hot query whose shape never changes (the balance read, the session lookup), built and
 * compiled by Kysely once per database and then run with each call's values. On the hottest
 * reads Kysely's per-call build and compile cost more than SQLite takes to answer (bench
 * profiles), and the prepared-statement caches below it already key on the SQL text.
 *
 * `build` is called once with marker values; every marker must appear exactly once among the
 * compiled parameters, so a builder that transforms or drops a value is refused at first use.
 */
export function reusableQuery<Row, Arity extends number>(
  arity: Arity,
  build: (db: Executor, ...values: string[]) => Compilable<Row>,
): (db: Executor, ...values: string[] & { length: Arity }) => Promise<QueryResult<Row>> {
  const compiled = new WeakMap<object, { query: CompiledQuery<Row>; slots: number[] }>();
  return async (db, ...values) => {
    const adapter = db.getExecutor().adapter;
    let entry = compiled.get(adapter);
    if (!entry) {
      const markers = Array.from({ length: arity }, (_, i) => `\u0000reusable-${i}\u0000`);
      const query = build(db, ...markers).compile();
      const slots = query.parameters.map((p) => markers.indexOf(p as string));
      if (slots.includes(-1) || new Set(slots).size !== arity || slots.length !== arity) {
        throw new Error(`reusableQuery: "${query.sql}" does not bind each value exactly once`);
      }
      entry = { query, slots };
      compiled.set(adapter, entry);
    }
    const { query, slots } = entry;
    return db.executeQuery<Row>({ ...query, parameters: slots.map((slot) => values[slot]) });
  };
}
