import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallResult, type HttpClient, httpClient } from '../support/http-client.js';
import { type ServerProcess, spawnTopup } from '../support/processes.js';
import { adminLogin, advanceClock, listAll, rechargeEnv, registerCustomer, serviceClock } from '../support/recharge-acceptance.js';
import { recharge } from '../support/recharge-helpers.js';
import { createTestDatabase, DIALECT, type TestDatabase } from '../support/test-database.js';

/**
 * TOPUP_RECHARGE_RATE_PER_MIN with REDIS_URL: the per-customer counters live in Redis, not in a
 * process, so every API process of a deployment enforces one limit. Shown two ways:
 * - a process restarted within the minute (empty memory) still sees the attempts made through
 *   its predecessor — on both dialects;
 * - on PostgreSQL, two `topup api` processes on one database take concurrent recharges of one
 *   customer and together let exactly the limit through. (Two processes cannot share a SQLite
 *   database by design, so on SQLite the restart is the proof.)
 *
 * Isolation in the shared Redis: counters are keyed by customer id, and every test uses a fresh
 * customer of a fresh database, so no other run's keys are touched; the test deletes only its own.
 */

const REDIS_URL = process.env.TOPUP_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const LIMIT = 4;
const WINDOW_MS = 60_000;

const windowIndex = (iso: string) => Math.floor(Date.parse(iso) / WINDOW_MS);

/**
 * The limiter's windows are service-clock minutes. Move the clock to just past the start of a
 * fresh minute so the whole test (a few seconds, one restart at most) stays inside one window,
 * and wait until every process follows the moved clock (they poll it each second).
 */
async function startOfFreshMinute(control: HttpClient, adminToken: string, all: HttpClient[]): Promise<number> {
  const now = Date.parse((await serviceClock(control, adminToken)).now);
  const toBoundary = WINDOW_MS - (now % WINDOW_MS);
  const moved = await advanceClock(control, adminToken, Math.ceil(toBoundary / 1000));
  for (const http of all) {
    const deadline = Date.now() + 10_000;
    while ((await serviceClock(http, adminToken)).offset_seconds < moved.offset_seconds) {
      if (Date.now() > deadline) throw new Error('a process did not follow the moved clock');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return windowIndex(moved.now);
}

function expectRateLimited(res: CallResult): void {
  expect(res.status, res.text).toBe(429);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body).toMatchObject({ code: 'RATE_LIMITED', retryable: true, status: 429 });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe(`recharge rate limit shared through Redis (${DIALECT})`, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let redis: Redis;
  const started: ServerProcess[] = [];
  const customers: string[] = [];

  async function start(command: 'serve' | 'api'): Promise<{ server: ServerProcess; http: HttpClient }> {
    const server = await spawnTopup(command, env);
    started.push(server);
    return { server, http: httpClient(server.url) };
  }

  /** This customer's limiter counters in Redis (found by id, whatever the prefix). */
  async function countersOf(customerId: string): Promise<Record<string, string>> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `*${customerId}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const counters: Record<string, string> = {};
    for (const key of keys) counters[key] = (await redis.get(key)) ?? '';
    return counters;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    env = rechargeEnv(db, { REDIS_URL, TOPUP_RECHARGE_RATE_PER_MIN: String(LIMIT) });
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    expect(await redis.ping()).toBe('PONG');
  });

  afterAll(async () => {
    for (const s of started) await s.stop();
    // Only this run's keys: the counters of the customers it created.
    if (redis) {
      for (const id of customers) {
        const keys = Object.keys(await countersOf(id));
        if (keys.length > 0) await redis.del(...keys);
      }
      await redis.quit();
    }
    await db?.drop();
  });

  it('a process restarted within the minute still counts the attempts made through its predecessor', async () => {
    const first = await start('serve');
    const admin = await adminLogin(first.http);
    const customer = await registerCustomer(first.http);
    customers.push(customer.id);
    const window = await startOfFreshMinute(first.http, admin, [first.http]);

    const before: CallResult[] = [];
    for (let i = 0; i < 3; i++) before.push(await recharge(first.http, customer.token, 1000 + i));
    for (const res of before) expect(res.status, res.text).toBe(201);

    // A new process: nothing of the old one's memory survives.
    await first.server.stop();
    const second = await start('serve');
    const after: CallResult[] = [];
    for (let i = 0; i < 3; i++) after.push(await recharge(second.http, customer.token, 2000 + i));
    const end = await serviceClock(second.http, admin);
    expect(windowIndex(end.now), 'the test crossed a rate-limit window boundary').toBe(window);

    // 3 already counted in Redis: only the 4th attempt of the minute passes.
    expect(after.map((r) => r.status)).toEqual([201, 429, 429]);
    for (const res of after.slice(1)) expectRateLimited(res);
    const orders = await listAll<{ amount: number; status: string }>(second.http, '/v1/recharges', customer.token);
    expect(orders.map((o) => o.amount).sort((x, y) => x - y)).toEqual([1000, 1001, 1002, 2000]);
    // The counter is in Redis: all six attempts of this customer in this one window.
    expect(Object.values(await countersOf(customer.id))).toEqual(['6']);

    // The next service-clock minute starts a fresh count.
    await startOfFreshMinute(second.http, admin, [second.http]);
    const nextMinute = await recharge(second.http, customer.token, 3000);
    expect(nextMinute.status, nextMinute.text).toBe(201);
  });

  if (DIALECT === 'postgres') {
    it('two API processes on one database let exactly the limit through for one customer, the rest 429 with Retry-After', async () => {
      const [a, b] = await Promise.all([start('api'), start('api')]);
      const admin = await adminLogin(a.http);
      const customer = await registerCustomer(a.http);
      customers.push(customer.id);
      const window = await startOfFreshMinute(a.http, admin, [a.http, b.http]);

      // Interleaved and concurrent: 3 through A, 3 through B.
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) => recharge(i % 2 === 0 ? a.http : b.http, customer.token, 1000 + i)),
      );
      const end = await serviceClock(b.http, admin);
      expect(windowIndex(end.now), 'the test crossed a rate-limit window boundary').toBe(window);

      const passed = answers.filter((r) => r.status === 201);
      const refused = answers.filter((r) => r.status !== 201);
      // Each process alone would have allowed all 3 of its own: 6 would pass with per-process counters.
      expect(passed).toHaveLength(LIMIT);
      expect(refused).toHaveLength(6 - LIMIT);
      for (const res of passed) expect(res.body.status).toBe('succeeded');
      for (const res of refused) expectRateLimited(res);
      // Refused before anything was created: only the passed ones are orders, seen alike through both processes.
      for (const http of [a.http, b.http]) {
        const orders = await listAll<{ id: string }>(http, '/v1/recharges', customer.token);
        expect(new Set(orders.map((o) => o.id))).toEqual(new Set(passed.map((r) => r.body.id as string)));
      }
      expect(Object.values(await countersOf(customer.id))).toEqual(['6']);

      // Both processes are still at the limit for the rest of the minute…
      for (const http of [a.http, b.http]) expectRateLimited(await recharge(http, customer.token, 4000));
      // …and both move to the next window together (the clock is shared through the database).
      await startOfFreshMinute(a.http, admin, [a.http, b.http]);
      const nextMinute = await Promise.all([recharge(a.http, customer.token, 5000), recharge(b.http, customer.token, 5001)]);
      expect(nextMinute.map((r) => r.status)).toEqual([201, 201]);
    });
  }
});
