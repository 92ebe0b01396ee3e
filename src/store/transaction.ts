import { type Executor, isStalePlan, type Store, type Trx } from './database.js';

const RETRYABLE_PG_CODES = new Set(['40001', '40P01']); // serialization failure, deadlock

function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  // A stale prepared statement (another process migrated a table): the retry prepares it anew.
  return (typeof code === 'string' && RETRYABLE_PG_CODES.has(code)) || code === 'SQLITE_BUSY' || isStalePlan(error);
}

/**
 * The one way a use case writes: everything inside `work` commits together or not at all.
 * PostgreSQL runs at READ COMMITTED; correctness comes from guarded single-statement updates
 * (`… WHERE balance + :delta >= 0`) taken in a fixed lock order, so the only retries needed
 * are the rare deadlock or serialization failures, which we repeat transparently.
 *
 * Never call a payment channel or any other outside system inside `work`.
 */
export async function inTransaction<T>(store: Store, work: (trx: Trx) => Promise<T>): Promise<T> {
  // SQLite has one writer: batching concurrent transactions into one commit costs nothing in
  // concurrency and saves an fsync per operation (see group-commit.ts).
  if (store.groupCommit) return store.groupCommit.run(work);
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.db.transaction().execute(work);
    } catch (error) {
      if (attempt >= 5 || !isRetryable(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
    }
  }
}

/**
 * One write that needs no transaction of its own (a job's claim or finish, a message's delivery
 * state). On SQLite it joins the next group commit instead of paying an fsync for itself —
 * several per recharge in the bench profiles; on PostgreSQL it is sent as is, one round trip.
 */
export function writeNow<T>(store: Store, work: (db: Executor) => Promise<T>): Promise<T> {
  return store.groupCommit ? store.groupCommit.run(work) : work(store.db);
}

/** True when the error is a unique-constraint violation (used to detect idempotent repeats). */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
