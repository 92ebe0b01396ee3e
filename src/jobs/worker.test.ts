import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../../test/support/test-store.js';
import { OffsetClock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import { createLogger } from '../ops/logger.js';
import { createMetrics } from '../ops/metrics.js';
import type { JobsTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { enqueueJob } from './job-queue.js';
import { backoffMs, type JobContext, RetryLater, Worker } from './worker.js';

let ts: TestStore;
beforeAll(async () => {
  ts = await openTestStore();
});
afterAll(async () => {
  await ts?.close();
});
// A worker claims every due job, whatever its type: start each test with an empty queue so
// jobs another test left behind (dead, retrying) never run or get counted here.
beforeEach(async () => {
  await ts.store.db.deleteFrom('jobs').execute();
});

/** Each test gets its own job types, so jobs left by another test never run here. */
function uniqueType(name: string): string {
  return `${name}.${newId('job').slice(-10)}`;
}

function newWorker(clock: OffsetClock, options: { leaseMs?: number; batchSize?: number } = {}): Worker {
  return new Worker(ts.store, clock, createLogger('silent'), createMetrics(), { pollMs: 20, ...options });
}

function advance(clock: OffsetClock, ms: number): void {
  clock.setOffset(clock.offset + ms);
}

async function jobsOfType(type: string): Promise<JobsTable[]> {
  return ts.store.db.selectFrom('jobs').selectAll().where('type', '=', type).orderBy('id').execute();
}

async function onlyJob(type: string): Promise<JobsTable> {
  const rows = await jobsOfType(type);
  expect(rows).toHaveLength(1);
  const [row] = rows;
  if (!row) throw new Error('no job');
  return row;
}

describe('enqueueJob', () => {
  it('writes nothing when the enclosing transaction rolls back', async () => {
    const type = uniqueType('outbox');
    const failure = await inTransaction(ts.store, async (trx) => {
      await enqueueJob(trx, { type, payload: { n: 1 } }, new Date());
      expect(await trx.selectFrom('jobs').select('id').where('type', '=', type).execute()).toHaveLength(1);
      throw new Error('the state change failed');
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(await jobsOfType(type)).toEqual([]);

    await inTransaction(ts.store, (trx) => enqueueJob(trx, { type, payload: { n: 2 } }, new Date()));
    const job = await onlyJob(type);
    expect(JSON.parse(job.payload)).toEqual({ n: 2 });
    expect(job).toMatchObject({ status: 'pending', attempts: 0, max_attempts: 10, last_error: null, locked_by: null });
  });

  it('makes a second enqueue with the same dedupe key a no-op', async () => {
    const type = uniqueType('dedupe');
    const key = `refund:${newId('rfd')}`;
    await enqueueJob(ts.store.db, { type, payload: { first: true }, dedupeKey: key }, new Date());
    await inTransaction(ts.store, (trx) => enqueueJob(trx, { type, payload: { first: false }, dedupeKey: key }, new Date()));
    await enqueueJob(ts.store.db, { type, payload: { first: false }, dedupeKey: key }, new Date());
    const job = await onlyJob(type);
    expect(JSON.parse(job.payload)).toEqual({ first: true });
    // Without a key, every enqueue is a job.
    await enqueueJob(ts.store.db, { type, payload: {} }, new Date());
    await enqueueJob(ts.store.db, { type, payload: {} }, new Date());
    expect(await jobsOfType(type)).toHaveLength(3);
  });
});

describe('Worker', () => {
  it('runs a due job once, passes payload and context, and marks it done', async () => {
    const clock = new OffsetClock();
    const worker = newWorker(clock);
    const type = uniqueType('happy');
    const calls: { payload: Record<string, unknown>; context: JobContext }[] = [];
    worker.register(type, async (payload, context) => {
      calls.push({ payload, context });
    });
    await enqueueJob(ts.store.db, { type, payload: { order: 'rch_1' } }, clock.now());
    await enqueueJob(ts.store.db, { type, payload: { order: 'later' }, runAt: new Date(clock.nowMs() + 60_000) }, clock.now());
    expect(await worker.runAllDue()).toBe(1);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.payload).toEqual({ order: 'rch_1' });
    expect(calls[0]?.context.attempt).toBe(1);
    const [done, later] = await jobsOfType(type);
    expect(done).toMatchObject({ status: 'done', attempts: 1, locked_by: null, locked_until: null, last_error: null });
    expect(calls[0]?.context.jobId).toBe(done?.id);
    expect(later).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await worker.runAllDue()).toBe(0);

    advance(clock, 61_000);
    expect(await worker.runAllDue()).toBe(1);
    expect(calls.map((c) => c.payload.order)).toEqual(['rch_1', 'later']);
  });

  it('retries a failing handler with growing backoff, then keeps it as dead with the last error', async () => {
    const clock = new OffsetClock();
    const worker = newWorker(clock);
    const type = uniqueType('failing');
    let calls = 0;
    worker.register(type, async (_payload, context) => {
      calls++;
      throw new Error(`channel refused (attempt ${context.attempt})`);
    });
    await enqueueJob(ts.store.db, { type, payload: {}, maxAttempts: 3 }, clock.now());

    expect(await worker.runDue(8)).toBe(1);
    let job = await onlyJob(type);
    let delay = Date.parse(job.run_at) - clock.nowMs();
    expect(job).toMatchObject({ status: 'pending', attempts: 1, last_error: 'channel refused (attempt 1)', locked_by: null });
    // backoff(1) is 1 s ± 20 %.
    expect(delay).toBeGreaterThan(700);
    expect(delay).toBeLessThanOrEqual(1_200);
    // Not due yet: nothing runs.
    expect(await worker.runDue(8)).toBe(0);
    expect(calls).toBe(1);

    advance(clock, 1_300);
    expect(await worker.runDue(8)).toBe(1);
    job = await onlyJob(type);
    delay = Date.parse(job.run_at) - clock.nowMs();
    expect(job).toMatchObject({ status: 'pending', attempts: 2, last_error: 'channel refused (attempt 2)' });
    // backoff(2) is 2 s ± 20 %.
    expect(delay).toBeGreaterThan(1_500);
    expect(delay).toBeLessThanOrEqual(2_400);

    advance(clock, 2_500);
    expect(await worker.runDue(8)).toBe(1);
    job = await onlyJob(type);
    expect(job).toMatchObject({
      status: 'dead',
      attempts: 3,
      last_error: 'channel refused (attempt 3)',
      locked_by: null,
      locked_until: null,
    });
    expect(calls).toBe(3);

    // Dead is final: however far the clock moves, it is not run again.
    advance(clock, 24 * 3600_000);
    expect(await worker.runAllDue()).toBe(0);
    expect(calls).toBe(3);
  });

  it('computes exponential backoff with jitter, capped at one hour', () => {
    for (let i = 0; i < 50; i++) {
      expect(backoffMs(1)).toBeGreaterThanOrEqual(800);
      expect(backoffMs(1)).toBeLessThanOrEqual(1_200);
      expect(backoffMs(5)).toBeGreaterThanOrEqual(12_800);
      expect(backoffMs(5)).toBeLessThanOrEqual(19_200);
      expect(backoffMs(40)).toBeLessThanOrEqual(3600_000 * 1.2);
      expect(backoffMs(40)).toBeGreaterThanOrEqual(3600_000 * 0.8);
    }
  });

  it('honours the delay of RetryLater instead of the default backoff', async () => {
    const clock = new OffsetClock();
    const worker = newWorker(clock);
    const type = uniqueType('retry-later');
    let calls = 0;
    worker.register(type, async () => {
      calls++;
      if (calls === 1) throw new RetryLater(30_000, 'channel still processing');
    });
    await enqueueJob(ts.store.db, { type, payload: {} }, clock.now());
    expect(await worker.runDue(8)).toBe(1);
    const job = await onlyJob(type);
    expect(job).toMatchObject({ status: 'pending', attempts: 1, last_error: 'channel still processing' });
    const delay = Date.parse(job.run_at) - clock.nowMs();
    expect(delay).toBeGreaterThan(29_000);
    expect(delay).toBeLessThanOrEqual(30_000);

    advance(clock, 20_000);
    expect(await worker.runAllDue()).toBe(0);
    expect(calls).toBe(1);
    advance(clock, 10_500);
    expect(await worker.runAllDue()).toBe(1);
    expect(calls).toBe(2);
    expect(await onlyJob(type)).toMatchObject({ status: 'done', attempts: 2, last_error: null });
  });

  it('reschedules a recurring job after each run and keeps one row per type', async () => {
    const clock = new OffsetClock();
    const worker = newWorker(clock);
    const type = uniqueType('tick');
    const runs: number[] = [];
    let failures = 0;
    worker.every(type, 60, async (_payload, context) => {
      runs.push(context.now.getTime());
      if (failures > 0) {
        failures--;
        throw new Error('reconciliation source down');
      }
    });
    await worker.ensureSchedules();
    await worker.ensureSchedules();
    // A second worker process registering the same schedule does not add a row either.
    const other = newWorker(clock);
    other.every(type, 60, async () => {});
    await other.ensureSchedules();
    expect(await onlyJob(type)).toMatchObject({ status: 'pending', repeat_seconds: 60, dedupe_key: `schedule:${type}` });

    expect(await worker.runAllDue()).toBe(1);
    let job = await onlyJob(type);
    expect(job).toMatchObject({ status: 'pending', attempts: 0, last_error: null, locked_by: null });
    const next = Date.parse(job.run_at) - clock.nowMs();
    expect(next).toBeGreaterThan(59_000);
    expect(next).toBeLessThanOrEqual(60_000);
    expect(await worker.runAllDue()).toBe(0);

    advance(clock, 61_000);
    expect(await worker.runAllDue()).toBe(1);
    expect(runs).toHaveLength(2);

    // A failing recurring job is retried with growing backoff (capped at its period), never killed.
    failures = 3;
    advance(clock, 61_000);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await worker.runAllDue()).toBe(1);
      job = await onlyJob(type);
      expect(job).toMatchObject({ status: 'pending', attempts: attempt, last_error: 'reconciliation source down' });
      const delay = Date.parse(job.run_at) - clock.nowMs();
      delays.push(delay);
      advance(clock, delay + 10);
    }
    // backoff(1..3) is 1 s, 2 s, 4 s, each ± 20 %.
    expect(delays[0]).toBeLessThanOrEqual(1_200);
    expect(delays[1]).toBeGreaterThan(1_500);
    expect(delays[2]).toBeGreaterThan(3_100);
    expect(delays[2]).toBeLessThanOrEqual(4_800);
    expect(await worker.runAllDue()).toBe(1);
    expect(runs).toHaveLength(6);
    job = await onlyJob(type);
    expect(job).toMatchObject({ status: 'pending', attempts: 0, last_error: null });
    expect(Date.parse(job.run_at) - clock.nowMs()).toBeGreaterThan(59_000);

    // However long it keeps failing, it is retried at least once per period.
    failures = 100;
    for (let i = 0; i < 12; i++) {
      advance(clock, 61_000);
      expect(await worker.runAllDue()).toBe(1);
    }
    job = await onlyJob(type);
    expect(job).toMatchObject({ status: 'pending', attempts: 12 });
    expect(Date.parse(job.run_at) - clock.nowMs()).toBeLessThanOrEqual(60_000);
  });

  it('reclaims a job whose worker died (lease expired) but not one whose lease is still valid', async () => {
    const clock = new OffsetClock();
    const worker = newWorker(clock);
    const type = uniqueType('orphan');
    const ran: string[] = [];
    worker.register(type, async (payload) => {
      ran.push(String(payload.name));
    });
    const now = clock.nowMs();
    const base = {
      type,
      status: 'running',
      run_at: new Date(now - 120_000).toISOString(),
      attempts: 1,
      max_attempts: 5,
      last_error: null,
      locked_by: 'dead-host:123:abcdef',
      dedupe_key: null,
      repeat_seconds: null,
      created_at: new Date(now - 120_000).toISOString(),
      updated_at: new Date(now - 120_000).toISOString(),
    };
    await ts.store.db
      .insertInto('jobs')
      .values([
        { ...base, id: newId('job'), payload: JSON.stringify({ name: 'expired' }), locked_until: new Date(now - 1_000).toISOString() },
        { ...base, id: newId('job'), payload: JSON.stringify({ name: 'leased' }), locked_until: new Date(now + 60_000).toISOString() },
      ])
      .execute();

    expect(await worker.runAllDue()).toBe(1);
    expect(ran).toEqual(['expired']);
    const [expired, leased] = await jobsOfType(type);
    expect(expired).toMatchObject({ status: 'done', attempts: 2, locked_by: null });
    expect(leased).toMatchObject({ status: 'running', attempts: 1, locked_by: 'dead-host:123:abcdef' });

    advance(clock, 61_000);
    expect(await worker.runAllDue()).toBe(1);
    expect(ran).toEqual(['expired', 'leased']);
  });

  it('does not let a worker whose lease was taken over overwrite the new owner', async () => {
    const clock = new OffsetClock();
    const slow = newWorker(clock, { leaseMs: 1_000 });
    const fast = newWorker(clock, { leaseMs: 1_000 });
    const type = uniqueType('takeover');
    let release: () => void = () => {};
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    const handler = async () => {
      calls++;
      if (calls === 1) {
        await blocked;
        throw new Error('stale worker failed late');
      }
    };
    slow.register(type, handler);
    fast.register(type, handler);
    await enqueueJob(ts.store.db, { type, payload: {} }, clock.now());

    const slowRun = slow.runDue(8);
    // Wait until the slow worker holds the job.
    for (let i = 0; i < 200 && calls === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(calls).toBe(1);
    advance(clock, 2_000);
    expect(await fast.runDue(8)).toBe(1);
    expect(await onlyJob(type)).toMatchObject({ status: 'done', attempts: 2 });
    release();
    await slowRun;
    // The stale failure must not turn the finished job back into a retry.
    expect(await onlyJob(type)).toMatchObject({ status: 'done', attempts: 2, last_error: null });
  });

  it('runs each of 50 jobs exactly once with two workers draining concurrently', async () => {
    const clock = new OffsetClock();
    const type = uniqueType('race');
    const invocations = new Map<number, number>();
    const workers = [newWorker(clock, { batchSize: 4 }), newWorker(clock, { batchSize: 4 })];
    for (const worker of workers) {
      worker.register(type, async (payload) => {
        const n = Number(payload.n);
        invocations.set(n, (invocations.get(n) ?? 0) + 1);
        // Yield so the other worker's claims interleave with this one's work.
        await new Promise((resolve) => setTimeout(resolve, 1));
      });
    }
    for (let n = 0; n < 50; n++) await enqueueJob(ts.store.db, { type, payload: { n } }, clock.now());

    let rounds = 0;
    for (;;) {
      const ran = await Promise.all(workers.flatMap((w) => [w.runDue(4), w.runDue(3)]));
      rounds++;
      if (ran.every((r) => r === 0)) break;
      if (rounds > 100) throw new Error('workers did not drain the queue');
    }
    expect(invocations.size).toBe(50);
    // Jobs run more (or less) than once, as [n, invocations]: must be none.
    expect([...invocations.entries()].filter(([, count]) => count !== 1)).toEqual([]);
    const rows = await jobsOfType(type);
    expect(rows).toHaveLength(50);
    expect(rows.every((r) => r.status === 'done' && r.attempts === 1)).toBe(true);
  });

  it('drains the queue in the background between start and stop, and poke wakes it', async () => {
    const clock = new OffsetClock();
    const worker = new Worker(ts.store, clock, createLogger('silent'), createMetrics(), { pollMs: 60_000 });
    const type = uniqueType('loop');
    let resolveRan: () => void = () => {};
    const ran = new Promise<void>((resolve) => {
      resolveRan = resolve;
    });
    worker.register(type, async () => {
      resolveRan();
    });
    worker.start();
    try {
      // Let the first poll find nothing and go to sleep for a minute.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await enqueueJob(ts.store.db, { type, payload: {} }, clock.now());
      worker.poke();
      await Promise.race([ran, new Promise((_, reject) => setTimeout(() => reject(new Error('poke did not wake the worker')), 5_000))]);
    } finally {
      await worker.stop();
    }
    expect(await onlyJob(type)).toMatchObject({ status: 'done' });
  });
});
