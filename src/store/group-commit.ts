import { CompiledQuery } from 'kysely';
import type { Store, Trx } from './database.js';

interface Pending {
  work: (trx: Trx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  tries: number;
}

// Built once: every operation of every batch runs these.
const SAVEPOINT = CompiledQuery.raw('savepoint group_op');
const RELEASE = CompiledQuery.raw('release savepoint group_op');
const ROLLBACK_TO = CompiledQuery.raw('rollback to savepoint group_op');

const RETRYABLE = new Set(['SQLITE_BUSY', '40001', '40P01']);

function isRetryable(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && RETRYABLE.has(code);
}

/**
 * Group commit: write transactions that arrive while a commit is in progress are run together
 * in the next database transaction and share its single commit (one fsync at
 * `synchronous=FULL`), the way the fastest ledgers batch. Nothing is weakened:
 * - every operation runs inside its own SAVEPOINT, so one operation's failure (a refused
 *   debit) rolls back only that operation, never its neighbours;
 * - a caller's promise settles only after the COMMIT that holds its work returned, so an
 *   acknowledged request is durable; if the commit itself fails, every operation of the batch
 *   fails (nothing of it was acknowledged) and callers' idempotent retries take over;
 * - operations of one batch run one after another on one connection, in arrival order, which
 *   is exactly what SQLite's single writer did anyway.
 */
export class GroupCommitter {
  private readonly queue: Pending[] = [];
  private draining = false;

  constructor(
    private readonly store: Store,
    private readonly maxBatch = 128,
  ) {}

  run<T>(work: (trx: Trx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject, tries: 0 });
      if (!this.draining) this.scheduleDrain();
    });
  }

  /**
   * better-sqlite3 blocks the event loop for the whole COMMIT, so requests that arrived
   * meanwhile are still unread sockets when it returns. Yielding to the loop (setImmediate runs
   * after pending I/O) before each batch lets them queue up and join it.
   */
  private scheduleDrain(): void {
    this.draining = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        await this.commitBatch(batch);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.draining = false;
    }
  }

  private async commitBatch(batch: Pending[]): Promise<void> {
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      await this.store.db.transaction().execute(async (trx) => {
        for (const item of batch) {
          await trx.executeQuery(SAVEPOINT);
          try {
            const value = await item.work(trx);
            await trx.executeQuery(RELEASE);
            outcomes.push({ ok: true, value });
          } catch (error) {
            await trx.executeQuery(ROLLBACK_TO);
            await trx.executeQuery(RELEASE);
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (commitError) {
      for (const item of batch) item.reject(commitError);
      return;
    }
    for (const [i, item] of batch.entries()) {
      const outcome = outcomes[i];
      if (!outcome) {
        item.reject(new Error('group commit lost an operation'));
      } else if (outcome.ok) {
        item.resolve(outcome.value);
      } else if (isRetryable(outcome.error) && item.tries < 4) {
        item.tries++;
        this.queue.push(item);
        if (!this.draining) this.scheduleDrain();
      } else {
        item.reject(outcome.error);
      }
    }
  }
}
