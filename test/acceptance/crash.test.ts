import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminLogin,
  allMovements,
  availableBalance,
  deploymentEnv,
  fund,
  httpClient,
  type Movement,
  registerCustomer,
  runTopupCli,
} from '../support/acceptance.js';
import type { CallResult, HttpClient } from '../support/http-client.js';
import { type ServerProcess, spawnTopup } from '../support/processes.js';
import { createTestDatabase, DIALECT, type TestDatabase } from '../support/test-database.js';

const FUNDED = 100_000;
const BURST = 200;
const IN_FLIGHT = 30;
/** SIGKILL once this many purchases have been acknowledged. */
const KILL_AFTER = 60;

const amountOf = (i: number) => 1 + (i % 9);
const keyOf = (i: number) => `crash-${i}`;
const bodyOf = (i: number) => ({ amount: amountOf(i), description: `crash burst ${i}` });

/** Runs `work` over `items`, at most `width` at a time; answers in the order of `items`. */
async function bounded<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const at = next++;
      results[at] = await work(items[at] as T);
    }
  };
  await Promise.all(Array.from({ length: width }, lane));
  return results;
}

/** Checks the balance_after chain of a newest-first movement list: each follows from the one before. */
function expectConsistentChain(movements: Movement[], balance: number): void {
  let expected = balance;
  for (const m of movements) {
    expect(m.balance_after).toBe(expected);
    expected -= m.amount;
  }
  expect(expected).toBe(0);
}

interface Ack {
  id: string;
  amount: number;
  body: Record<string, unknown>;
}

/**
 * SIGKILL the server (no shutdown hooks, no flushing) in the middle of a burst of purchases,
 * restart it on the same database, and check that nothing acknowledged is lost, nothing is
 * half-applied, and retries of every key converge on exactly one purchase per key.
 */
describe(`crash during a burst of purchases (${DIALECT})`, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let server: ServerProcess | null = null;
  let http: HttpClient;
  let customer: { id: string; token: string };
  let killed = false;
  /** Purchases answered 201 before the kill, by burst index. */
  const acknowledged = new Map<number, Ack>();
  /** Requests whose connection the kill cut: committed or not, nobody was told. */
  const unanswered = new Set<number>();
  const unexpected: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    env = deploymentEnv(db);
    const victim = await spawnTopup('serve', env);
    server = victim;
    const before = httpClient(victim.url);
    customer = await registerCustomer(before);
    await fund(before, await adminLogin(before), customer.id, FUNDED);

    // The burst: IN_FLIGHT concurrent senders over BURST distinct keys, killed after KILL_AFTER acks.
    let next = 0;
    const sender = async () => {
      while (!killed && next < BURST) {
        const i = next++;
        let res: CallResult;
        try {
          res = await before.post('/v1/purchases', bodyOf(i), { token: customer.token, key: keyOf(i) });
        } catch {
          unanswered.add(i);
          continue;
        }
        if (res.status !== 201) {
          unexpected.push(`${i}: ${res.status} ${res.text}`);
          continue;
        }
        // Answered 201 means acknowledged, even if it arrives just after the kill signal went out.
        acknowledged.set(i, { id: res.body.id as string, amount: res.body.amount as number, body: res.body });
        if (acknowledged.size >= KILL_AFTER && !killed) {
          killed = true;
          victim.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
    await victim.kill();

    // Restart on the same database (the SQLite file, or the PostgreSQL database).
    server = await spawnTopup('serve', env);
    http = httpClient(server.url);
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it('SIGKILL lands in the middle of the burst', () => {
    expect(unexpected).toEqual([]);
    expect(killed).toBe(true);
    expect(acknowledged.size).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(acknowledged.size).toBeLessThan(BURST);
    // Requests were cut off in flight, not merely never sent.
    expect(unanswered.size).toBeGreaterThan(0);
    for (const [i, ack] of acknowledged) expect(ack.amount).toBe(amountOf(i));
  });

  it('after restart every acknowledged purchase is in the ledger, none is half-applied, verify is clean', async () => {
    const balance = await availableBalance(http, customer.token);
    const movements = await allMovements(http, customer.token);
    const purchases = movements.filter((m) => m.kind === 'purchase');
    const byRef = new Map(purchases.map((m) => [m.ref, m]));
    expect(byRef.size).toBe(purchases.length); // no purchase posted twice

    for (const ack of acknowledged.values()) expect(byRef.get(ack.id)?.amount).toBe(-ack.amount);
    // Anything else there was in flight at the kill; nothing that was never sent.
    expect(purchases.length).toBeLessThanOrEqual(acknowledged.size + unanswered.size);
    // Nothing half-applied: the balance is the funding minus the purchases in the ledger, and
    // every movement's balance_after follows from the one before it.
    const spent = purchases.reduce((sum, m) => sum - m.amount, 0);
    expect(balance).toBe(FUNDED - spent);
    expectConsistentChain(movements, balance);

    const verify = await runTopupCli(['verify'], env);
    expect(verify.output).toContain('verify: clean');
    expect(verify.code).toBe(0);
  });

  it('retrying an acknowledged purchase replays the same purchase and debits nothing', async () => {
    const balance = await availableBalance(http, customer.token);
    const acks = [...acknowledged.entries()];
    const retries = await bounded(acks, 10, ([i]) => http.post('/v1/purchases', bodyOf(i), { token: customer.token, key: keyOf(i) }));
    retries.forEach((retry, n) => {
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.body).toEqual(acks[n]?.[1].body);
    });
    expect(await availableBalance(http, customer.token)).toBe(balance);
  });

  it('keys cut off mid-request converge on exactly one purchase each once their lease runs out', async () => {
    const committedBefore = (await allMovements(http, customer.token)).filter((m) => m.kind === 'purchase');
    const ackedIds = new Set([...acknowledged.values()].map((a) => a.id));
    // Purchases committed before the crash whose answer never reached the client.
    const orphans = committedBefore.filter((m) => !ackedIds.has(m.ref ?? ''));

    // Move the service clock past the 60 s in-flight lease the dead process held on those keys.
    const advanced = await http.post('/v1/sandbox/clock/advance', { seconds: 120 }, { token: await adminLogin(http) });
    expect(advanced.status).toBe(200);

    const keys = [...unanswered];
    const retries = await bounded(keys, 10, (i) => http.post('/v1/purchases', bodyOf(i), { token: customer.token, key: keyOf(i) }));
    retries.forEach((retry, n) => {
      expect(retry.status, retry.text).toBe(201);
      expect(retry.body.amount).toBe(amountOf(keys[n] as number));
    });
    const retriedIds = retries.map((r) => r.body.id as string);
    // A purchase committed before the crash kept its id: the retry found it instead of debiting again.
    for (const orphan of orphans) expect(retriedIds).toContain(orphan.ref);

    const after = await allMovements(http, customer.token);
    const purchases = after.filter((m) => m.kind === 'purchase');
    expect(purchases).toHaveLength(acknowledged.size + unanswered.size);
    expect(new Set(purchases.map((m) => m.ref))).toEqual(new Set([...ackedIds, ...retriedIds]));
    const balance = await availableBalance(http, customer.token);
    expect(balance).toBe(FUNDED + purchases.reduce((sum, m) => sum + m.amount, 0));
    expectConsistentChain(after, balance);

    const verify = await runTopupCli(['verify'], env);
    expect(verify.output).toContain('verify: clean');
    expect(verify.code).toBe(0);
  });
});
