import os from 'node:os';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import type { Metrics } from '../ops/metrics.js';
import type { Store } from '../store/database.js';
import type { JobsTable } from '../store/schema.js';
import { writeNow } from '../store/transaction.js';
import { enqueueJob } from './job-queue.js';

export interface JobContext {
  jobId: string;
  attempt: number;
  now: Date;
}

/** A job handler. It may run more than once for one job (crash after work, lease expiry): make it idempotent. */
export type JobHandler = (payload: Record<string, unknown>, context: JobContext) => Promise<void>;

/** Thrown by a handler to be retried after a specific delay instead of the default backoff. */
export class RetryLater extends Error {
  constructor(
    readonly delayMs: number,
    message = 'retry later',
  ) {
    super(message);
  }
}

export interface WorkerOptions {
  pollMs: number;
  /** How long a claimed job is ours before another worker may take it over. */
  leaseMs?: number;
  batchSize?: number;
  /** Called before each poll; the sandbox uses it to follow a clock moved by another process. */
  beforePoll?: () => Promise<void>;
}

const BASE_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60 * 60 * 1000;

export function backoffMs(attempt: number): number {
  const exponential = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.8 + Math.random() * 0.4));
}

/**
 * Drains the jobs table. Claims due jobs (and jobs whose lease ran out, because their
 * worker died) with `FOR UPDATE SKIP LOCKED` on PostgreSQL so any number of workers can run;
 * retries failures with exponential backoff up to each job's budget, then keeps it as `dead`.
 */
export class Worker {
  private readonly handlers = new Map<string, JobHandler>();
  private readonly schedules: { type: string; everySeconds: number }[] = [];
  private readonly workerId = `${os.hostname()}:${process.pid}:${newId('job').slice(-6)}`;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** Passes under way in this process (the poll loop's and any caller's), from claim to finish. */
  private readonly passes = new Set<Promise<number>>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly options: WorkerOptions,
  ) {}

  register(type: string, handler: JobHandler): void {
    this.handlers.set(type, handler);
  }

  /** A recurring job: one row per type (dedupe key), rescheduled after each run. */
  every(type: string, everySeconds: number, handler: JobHandler): void {
    this.register(type, handler);
    this.schedules.push({ type, everySeconds });
  }

  async ensureSchedules(): Promise<void> {
    for (const s of this.schedules) {
      await enqueueJob(
        this.store.db,
        { type: s.type, payload: {}, dedupeKey: `schedule:${s.type}`, repeatSeconds: s.everySeconds, maxAttempts: 1000 },
        this.clock.now(),
      );
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.pollLoop();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  /** Nudges the loop to poll now (after enqueueing work that should start at once). */
  poke(): void {
    this.wake?.();
  }

  private async pollLoop(): Promise<void> {
    await this.ensureSchedules();
    while (this.running) {
      let ran = 0;
      try {
        await this.options.beforePoll?.();
        ran = await this.runDue(this.options.batchSize ?? 8);
      } catch (error) {
        this.log.error({ err: error }, 'worker poll failed');
      }
      if (ran === 0 && this.running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.pollMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
    }
  }

  /**
   * Runs every job due now, batch after batch, until none is left (or `limit` ran). Used by
   * the poll loop and by the sandbox clock, which must run what became due before answering.
   */
  async runAllDue(limit = 10_000): Promise<number> {
    let total = 0;
    while (total < limit) {
      const ran = await this.runDue(Math.min(32, limit - total));
      if (ran === 0) break;
      total += ran;
    }
    return total;
  }

  runDue(batchSize: number): Promise<number> {
    // Registered before the claim is sent, so `idle()` also waits for a pass whose claim is
    // still on its way to the database.
    const pass = (async () => {
      const jobs = await this.claim(batchSize);
      await Promise.all(jobs.map((job) => this.execute(job)));
      return jobs.length;
    })();
    this.passes.add(pass);
    const forget = () => this.passes.delete(pass);
    pass.then(forget, forget);
    return pass;
  }

  /** True while a pass of this process is claiming or running jobs. */
  busy(): boolean {
    return this.passes.size > 0;
  }

  /** Resolves once no pass of this process is claiming or running jobs. */
  async idle(): Promise<void> {
    while (this.passes.size > 0) await Promise.allSettled([...this.passes]);
  }

  /**
   * Jobs whose worker died (lease run out) first, then due jobs oldest first. Two statements,
   * not one with an OR: each walks the `(status, run_at)` index in order and stops at the batch
   * size, where the OR made SQLite read and sort every due job (a backlog made each claim slower).
   */
  private async claim(batchSize: number): Promise<JobsTable[]> {
    const now = this.clock.now();
    const nowIso = now.toISOString();
    const leaseUntil = new Date(now.getTime() + (this.options.leaseMs ?? 5 * 60_000)).toISOString();
    const abandoned = await this.claimWhere('running', 'locked_until', nowIso, batchSize, leaseUntil, nowIso);
    if (abandoned.length >= batchSize) return abandoned;
    const due = await this.claimWhere('pending', 'run_at', nowIso, batchSize - abandoned.length, leaseUntil, nowIso);
    return [...abandoned, ...due];
  }

  private claimWhere(
    status: 'pending' | 'running',
    before: 'run_at' | 'locked_until',
    nowIso: string,
    limit: number,
    leaseUntil: string,
    updatedAt: string,
  ): Promise<JobsTable[]> {
    return writeNow(this.store, (db) => {
      const due = db
        .selectFrom('jobs')
        .select('id')
        .where('status', '=', status)
        .where(before, status === 'pending' ? '<=' : '<', nowIso)
        .orderBy('run_at')
        .limit(limit);
      const candidates = this.store.dialect === 'postgres' ? due.forUpdate().skipLocked() : due;
      return db
        .updateTable('jobs')
        .set({
          status: 'running',
          locked_by: this.workerId,
          locked_until: leaseUntil,
          attempts: sql<number>`attempts + 1`,
          updated_at: updatedAt,
        })
        .where('id', 'in', candidates)
        .returningAll()
        .execute();
    });
  }

  private async execute(job: JobsTable): Promise<void> {
    const handler = this.handlers.get(job.type);
    const started = this.clock.now();
    try {
      if (!handler) throw new Error(`no handler for job type ${job.type}`);
      const payload = JSON.parse(job.payload) as Record<string, unknown>;
      await handler(payload, { jobId: job.id, attempt: job.attempts, now: started });
      const now = this.clock.now();
      if (job.repeat_seconds) {
        await this.finish(job, {
          status: 'pending',
          attempts: 0,
          last_error: null,
          run_at: new Date(now.getTime() + job.repeat_seconds * 1000).toISOString(),
        });
      } else {
        await this.finish(job, { status: 'done', last_error: null });
      }
      this.metrics.jobsProcessed.inc({ type: job.type, outcome: 'done' });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const now = this.clock.now();
      const exhausted = job.attempts >= job.max_attempts;
      // A recurring job keeps counting failures (reset on success) so its backoff grows, but
      // never waits longer than its own period.
      const backoff = job.repeat_seconds ? Math.min(backoffMs(job.attempts), job.repeat_seconds * 1000) : backoffMs(job.attempts);
      const delay = error instanceof RetryLater ? error.delayMs : backoff;
      if (exhausted && !job.repeat_seconds) {
        this.log.error({ err: error, jobId: job.id, type: job.type, attempts: job.attempts }, 'job is dead');
        await this.finish(job, { status: 'dead', last_error: message.slice(0, 2000) });
        this.metrics.jobsProcessed.inc({ type: job.type, outcome: 'dead' });
      } else {
        this.log.warn({ err: error, jobId: job.id, type: job.type, attempts: job.attempts }, 'job failed, will retry');
        await this.finish(job, {
          status: 'pending',
          last_error: message.slice(0, 2000),
          run_at: new Date(now.getTime() + delay).toISOString(),
        });
        this.metrics.jobsProcessed.inc({ type: job.type, outcome: 'retry' });
      }
    }
  }

  /** Guarded by our lease: a worker whose lease was taken over must not overwrite the new owner. */
  private async finish(job: JobsTable, changes: Partial<JobsTable>): Promise<void> {
    await writeNow(this.store, (db) =>
      db
        .updateTable('jobs')
        .set({ ...changes, locked_by: null, locked_until: null, updated_at: this.clock.now().toISOString() })
        .where('id', '=', job.id)
        .where('locked_by', '=', this.workerId)
        .where('status', '=', 'running')
        .execute(),
    );
  }
}
