import { newId } from '../domain/ids.js';
import type { Executor } from '../store/database.js';
import { reusableInsert } from '../store/reusable-query.js';
import type { JobsTable } from '../store/schema.js';

export interface NewJob {
  type: string;
  payload: Record<string, unknown>;
  /** When it becomes due (service clock); defaults to now. */
  runAt?: Date;
  /** A second enqueue with the same key is a no-op: how callers make "start once" idempotent. */
  dedupeKey?: string;
  maxAttempts?: number;
  /** Recurring jobs are rescheduled this many seconds after each run instead of finishing. */
  repeatSeconds?: number;
}

// The outbox insert runs several times per recharge: compiled once (see reusable-query.ts).
const insertJobs = reusableInsert('jobs', { onConflictDoNothing: ['dedupe_key'] });

/**
 * Enqueues inside the caller's transaction (the outbox): the job exists if and only if the
 * state change that caused it committed.
 */
export async function enqueueJob(trx: Executor, job: NewJob, now: Date): Promise<void> {
  const at = now.toISOString();
  const row: JobsTable = {
    id: newId('job', now.getTime()),
    type: job.type,
    payload: JSON.stringify(job.payload),
    status: 'pending',
    run_at: (job.runAt ?? now).toISOString(),
    attempts: 0,
    max_attempts: job.maxAttempts ?? 10,
    last_error: null,
    locked_by: null,
    locked_until: null,
    dedupe_key: job.dedupeKey ?? null,
    repeat_seconds: job.repeatSeconds ?? null,
    created_at: at,
    updated_at: at,
  };
  await insertJobs(trx, [row]);
}
