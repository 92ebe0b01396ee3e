import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminLogin,
  allMovements,
  availableBalance,
  deploymentEnv,
  fund,
  httpClient,
  registerCustomer,
  runTopupCli,
} from '../support/acceptance.js';
import type { CallResult, HttpClient } from '../support/http-client.js';
import { type ServerProcess, spawnTopup } from '../support/processes.js';
import { createTestDatabase, DIALECT, type TestDatabase } from '../support/test-database.js';

/**
 * Concurrency over real sockets against real server processes. On PostgreSQL two `topup api`
 * processes share one fresh database (both migrate it at the same moment on start); on SQLite,
 * which is one process by design, a single `topup serve`. The test body is the same.
 */
describe(`concurrent purchases over real sockets (${DIALECT})`, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let servers: ServerProcess[] = [];
  let clients: HttpClient[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    env = deploymentEnv(db);
    // Started together on purpose: concurrent migrations and bootstrap-admin creation must be safe.
    const started = await Promise.allSettled(
      DIALECT === 'postgres' ? [spawnTopup('api', env), spawnTopup('api', env)] : [spawnTopup('serve', env)],
    );
    servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason; // afterAll stops the ones that did start
    clients = servers.map((s) => httpClient(s.url));
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.drop();
  });

  /** Client `i` of a burst talks to process `i mod n`. */
  const via = (i: number) => clients[i % clients.length] as HttpClient;

  it(`starts ${DIALECT === 'postgres' ? 'two API processes' : 'one process'} on the same fresh database, fully migrated`, async () => {
    expect(servers).toHaveLength(DIALECT === 'postgres' ? 2 : 1);
    for (const client of clients) {
      const ready = await client.get('/readyz');
      expect(ready.status).toBe(200);
    }
    // The concurrent starts left the schema complete: nothing is pending for `topup migrate`.
    const migrate = await runTopupCli(['migrate'], env);
    expect(migrate.output).toContain('database is up to date');
    expect(migrate.code).toBe(0);
  });

  it('100 concurrent 1-fen purchases against a 50-fen balance: exactly 50 succeed, balance 0, verify clean', async () => {
    const first = via(0);
    const customer = await registerCustomer(first);
    await fund(first, await adminLogin(first), customer.id, 50);
    expect(await availableBalance(first, customer.token)).toBe(50);

    const answers: CallResult[] = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        via(i).post(
          '/v1/purchases',
          { amount: 1, description: `burst ${i}` },
          { token: customer.token, key: `burst-${i}-${randomUUID()}` },
        ),
      ),
    );

    const succeeded = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 422);
    expect(succeeded).toHaveLength(50);
    expect(refused).toHaveLength(50);
    for (const r of refused) expect(r.body.code).toBe('INSUFFICIENT_BALANCE');
    const ids = new Set(succeeded.map((s) => s.body.id as string));
    expect(ids.size).toBe(50);
    // Every successful answer saw a distinct balance 49..0: no two debits read the same balance.
    expect(new Set(succeeded.map((s) => s.body.balance_after as number))).toEqual(new Set(Array.from({ length: 50 }, (_, i) => i)));

    for (const client of clients) expect(await availableBalance(client, customer.token)).toBe(0);

    const movements = await allMovements(first, customer.token);
    const purchases = movements.filter((m) => m.kind === 'purchase');
    expect(purchases).toHaveLength(50);
    expect(new Set(purchases.map((m) => m.ref))).toEqual(ids);
    expect(purchases.every((m) => m.amount === -1)).toBe(true);
    expect(movements.reduce((sum, m) => sum + m.amount, 0)).toBe(0);

    const verify = await runTopupCli(['verify'], env);
    expect(verify.output).toContain('verify: clean');
    expect(verify.code).toBe(0);
  });

  it('the same Idempotency-Key sent 20 times in parallel has exactly one effect', async () => {
    const first = via(0);
    const customer = await registerCustomer(first);
    await fund(first, await adminLogin(first), customer.id, 100);
    const key = `same-${randomUUID()}`;
    const body = { amount: 7, description: 'one purchase, many sends' };

    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => via(i).post('/v1/purchases', body, { token: customer.token, key })),
    );

    const created = answers.filter((a) => a.status === 201);
    const inUse = answers.filter((a) => a.status === 409);
    expect(created.length + inUse.length).toBe(20);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const a of inUse) expect(a.body.code).toBe('IDEMPOTENCY_KEY_IN_USE');
    expect(new Set(created.map((a) => a.body.id as string)).size).toBe(1);
    const purchaseId = created[0]?.body.id as string;

    for (const client of clients) expect(await availableBalance(client, customer.token)).toBe(93);
    const purchases = (await allMovements(first, customer.token)).filter((m) => m.kind === 'purchase');
    expect(purchases.map((m) => m.ref)).toEqual([purchaseId]);

    // Later retries, on every process, replay the stored answer and debit nothing.
    for (const client of clients) {
      const retry = await client.post('/v1/purchases', body, { token: customer.token, key });
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.body.id).toBe(purchaseId);
      expect(retry.body.balance_after).toBe(93);
    }
    expect(await availableBalance(first, customer.token)).toBe(93);

    const verify = await runTopupCli(['verify'], env);
    expect(verify.output).toContain('verify: clean');
    expect(verify.code).toBe(0);
  });
});
