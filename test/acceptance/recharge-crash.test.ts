import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallResult, type HttpClient, httpClient } from '../support/http-client.js';
import { type ServerProcess, spawnTopup } from '../support/processes.js';
import {
  adminLogin,
  advanceClock,
  auditCustomerMoney,
  channelBooks,
  expectVerifyClean,
  listAll,
  type RechargeDetail,
  rechargeEnv,
  registerCustomer,
  serviceClock,
  shanghaiDays,
} from '../support/recharge-acceptance.js';
import { CARDS, card, type Method, recharge } from '../support/recharge-helpers.js';
import { createTestDatabase, DIALECT, type TestDatabase } from '../support/test-database.js';

/**
 * `topup serve` is SIGKILLed while money sits collected at the channel but not yet credited
 * (answer timed out, notification late or never sent, duplicate collection whose notification
 * is still queued), then restarted on the same database. After the clock moves on, every
 * collected payment must have ended credited exactly once or automatically refunded — told
 * only by what the restarted process can find out: the resolver's status queries and the
 * sandbox's resent notifications, which now have to reach a process on a different port.
 */

interface Sent {
  label: string;
  amount: number;
  method: Method;
  /** What the service answers before the crash. */
  answered: 'pending' | 'succeeded';
}

const WALLET = { payer_account: 'buyer@example.com' };

const SENT: Sent[] = [
  { label: '6602 card: collected, answer timed out, notification in 2 min', amount: 6602, method: 'bank_card', answered: 'pending' },
  { label: '6602 alipay', amount: 6602, method: 'alipay', answered: 'pending' },
  { label: '6607 card: collected, never notified', amount: 6607, method: 'credit_card', answered: 'pending' },
  { label: '6607 wechat', amount: 6607, method: 'wechat_pay', answered: 'pending' },
  { label: '6606 card: second collection only by notification', amount: 6606, method: 'bank_card', answered: 'succeeded' },
  { label: '6606 alipay', amount: 6606, method: 'alipay', answered: 'succeeded' },
  { label: 'plain card', amount: 1001, method: 'bank_card', answered: 'succeeded' },
  { label: 'plain credit card', amount: 1002, method: 'credit_card', answered: 'succeeded' },
  { label: 'plain alipay', amount: 1003, method: 'alipay', answered: 'succeeded' },
  { label: 'plain wechat', amount: 1004, method: 'wechat_pay', answered: 'succeeded' },
  { label: 'plain card 2', amount: 1005, method: 'bank_card', answered: 'succeeded' },
];

function paymentMethodOf(method: Method) {
  return method === 'bank_card' ? card(CARDS.bank) : method === 'credit_card' ? card(CARDS.mastercard) : WALLET;
}

async function orderOf(http: HttpClient, token: string, id: string): Promise<RechargeDetail> {
  const res = await http.get(`/v1/recharges/${id}`, { token });
  expect(res.status, res.text).toBe(200);
  return res.body as unknown as RechargeDetail;
}

/** Polls until no order of the customer is pending and no automatic refund is still on its way. */
async function settled(http: HttpClient, token: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = await listAll<{ id: string }>(http, '/v1/recharges?status=pending', token);
    const refunds = await listAll<{ id: string; status: string }>(http, '/v1/refunds', token);
    const open = refunds.filter((r) => r.status !== 'succeeded' && r.status !== 'failed');
    if (pending.length === 0 && open.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`not settled: pending orders ${JSON.stringify(pending)}, open refunds ${JSON.stringify(open)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe(`SIGKILL between the channel collecting and Topup crediting (${DIALECT})`, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let victimUrl = '';
  let server: ServerProcess | null = null;
  let http: HttpClient;
  let admin = '';
  let customer: { id: string; token: string };
  let startedAt = '';
  const answers: { sent: Sent; res: CallResult }[] = [];
  let killedAt = new Date(0);

  beforeAll(async () => {
    db = await createTestDatabase();
    env = rechargeEnv(db);
    const victim = await spawnTopup('serve', env);
    server = victim;
    victimUrl = victim.url;
    const before = httpClient(victim.url);
    customer = await registerCustomer(before);
    startedAt = (await serviceClock(before, await adminLogin(before))).now;

    // Everything but the duplicates at once; then the duplicates, and SIGKILL the moment their
    // answers are in — before their second collection's notification (1 s), the 6602 notification
    // (2 min) and the 10 s resolver can run in this process.
    const send = (sent: Sent) => recharge(before, customer.token, sent.amount, sent.method, paymentMethodOf(sent.method));
    const first = await Promise.all(SENT.filter((s) => s.amount !== 6606).map(async (sent) => ({ sent, res: await send(sent) })));
    const last = await Promise.all(SENT.filter((s) => s.amount === 6606).map(async (sent) => ({ sent, res: await send(sent) })));
    await victim.kill();
    killedAt = new Date();
    const all = [...first, ...last];
    answers.push(...all);

    server = await spawnTopup('serve', env);
    http = httpClient(server.url);
    admin = await adminLogin(http);
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it('the kill left money collected at the channels but not credited by Topup', async () => {
    for (const { sent, res } of answers) {
      expect(res.status, `${sent.label}: ${res.text}`).toBe(201);
      expect(res.body.status, sent.label).toBe(sent.answered);
      expect(res.body.amount).toBe(sent.amount);
    }
    // The restarted process listens elsewhere: notifications queued by the dead one must find it.
    expect(server?.url).not.toBe(victimUrl);

    // The channels' own books: the orders answered `pending` were in fact paid, 6606 twice.
    const books = await channelBooks(http, admin, shanghaiDays(startedAt, (await serviceClock(http, admin)).now));
    for (const { sent, res } of answers) {
      const detail = await orderOf(http, customer.token, res.body.id as string);
      const attemptIds = new Set(detail.attempts.map((a) => a.id));
      const collected = books.filter((l) => l.type === 'payment' && attemptIds.has(l.merchantRef));
      expect(collected, sent.label).toHaveLength(sent.amount === 6606 ? 2 : 1);
    }
  });

  it('after 1 minute the resolver has credited the timed-out and the silent payments, and the duplicate is being refunded', async () => {
    await advanceClock(http, admin, 60);
    for (const { sent, res } of answers) {
      const detail = await orderOf(http, customer.token, res.body.id as string);
      expect(detail.status, sent.label).toBe('succeeded');
      if (sent.amount === 6606) {
        // The second collection reached Topup only through the sandbox's notification, resent to the new process.
        expect(
          detail.refunds.map((r) => r.reason),
          sent.label,
        ).toEqual(['duplicate_charge']);
        // Detected after the crash (the clock had not moved yet, so service time is wall time).
        const detected = detail.refunds[0]?.timeline[0]?.at ?? '';
        expect(Date.parse(detected), `${sent.label}: duplicate detected at ${detected}`).toBeGreaterThan(killedAt.getTime());
      } else {
        expect(detail.refunds, sent.label).toEqual([]);
      }
    }
  });

  it('after 24 h every collection ended credited exactly once or refunded, the balance is the succeeded sum, verify is clean', async () => {
    await advanceClock(http, admin, 24 * 3600);
    await settled(http, customer.token);
    const { orders, collections, balance } = await auditCustomerMoney(http, admin, customer.token, {
      from: startedAt,
      to: (await serviceClock(http, admin)).now,
    });
    expect(orders).toHaveLength(SENT.length);
    expect(collections).toHaveLength(SENT.length + SENT.filter((s) => s.amount === 6606).length);
    expect(balance).toBe(SENT.reduce((sum, s) => sum + s.amount, 0));
    for (const order of orders.filter((o) => o.amount === 6606)) {
      expect(order.refunded_amount).toBe(6606);
      expect(order.refunds).toHaveLength(1);
    }
    await expectVerifyClean(env);
  });
});

const BURST = 40;
/** SIGKILL once this many recharges have been answered. */
const KILL_AFTER = 10;
/**
 * …plus this long: on SQLite the server works through the burst nearly one order at a time, and
 * an answer goes out just as the next order is about to be written; a few ms later the next
 * orders are mid-flight (written, channel called, not yet answered).
 */
const KILL_DELAY_MS = 20;
const burstAmount = (i: number) => 2000 + i;

describe(`SIGKILL during a burst of ${BURST} concurrent recharges (${DIALECT})`, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let server: ServerProcess | null = null;
  let http: HttpClient;
  let admin = '';
  let customer: { id: string; token: string };
  let startedAt = '';
  let killed = false;
  /** Recharges answered 201 before the kill, by burst index. */
  const acknowledged = new Map<number, Record<string, unknown>>();
  /** Requests the kill cut off: the order may or may not exist, nobody was told. */
  const unanswered = new Set<number>();
  const unexpected: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    env = rechargeEnv(db);
    const victim = await spawnTopup('serve', env);
    server = victim;
    const before = httpClient(victim.url);
    customer = await registerCustomer(before);
    startedAt = (await serviceClock(before, await adminLogin(before))).now;

    await Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        const method: Method = i % 3 === 0 ? 'alipay' : 'bank_card';
        let res: CallResult;
        try {
          res = await recharge(before, customer.token, burstAmount(i), method);
        } catch {
          unanswered.add(i);
          return;
        }
        if (res.status !== 201) {
          unexpected.push(`${i}: ${res.status} ${res.text}`);
          return;
        }
        acknowledged.set(i, res.body);
        if (acknowledged.size >= KILL_AFTER && !killed) {
          killed = true;
          setTimeout(() => victim.child.kill('SIGKILL'), KILL_DELAY_MS);
        }
      }),
    );
    await victim.kill();

    server = await spawnTopup('serve', env);
    http = httpClient(server.url);
    admin = await adminLogin(http);
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it('the kill lands in the middle of the burst', () => {
    expect(unexpected).toEqual([]);
    expect(killed).toBe(true);
    expect(acknowledged.size).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(acknowledged.size).toBeLessThan(BURST);
    expect(unanswered.size).toBeGreaterThan(0);
    expect(acknowledged.size + unanswered.size).toBe(BURST);
  });

  it('after restart every acknowledged order is there, pending or final, and never moved backwards', async () => {
    for (const [i, ack] of acknowledged) {
      const detail = await orderOf(http, customer.token, ack.id as string);
      expect(detail.amount).toBe(burstAmount(i));
      expect(['pending', 'succeeded', 'failed', 'closed']).toContain(detail.status);
      if (ack.status !== 'pending') expect(detail.status).toBe(ack.status);
    }
    // Orders the kill cut off may exist, but only for requests that were actually sent and not answered.
    const orders = await listAll<{ id: string; amount: number }>(http, '/v1/recharges', customer.token);
    const ackedIds = new Set([...acknowledged.values()].map((a) => a.id));
    for (const o of orders.filter((o) => !ackedIds.has(o.id))) expect(unanswered.has(o.amount - 2000), JSON.stringify(o)).toBe(true);
    expect(new Set(orders.map((o) => o.amount)).size).toBe(orders.length);
  });

  it('once the clock moves on no order is left pending; every collection is credited once or refunded; verify is clean', async () => {
    await advanceClock(http, admin, 600);
    await settled(http, customer.token);
    expect(await listAll(http, '/v1/recharges?status=pending', customer.token)).toEqual([]);
    await advanceClock(http, admin, 24 * 3600);
    await settled(http, customer.token);

    const { orders, balance } = await auditCustomerMoney(http, admin, customer.token, {
      from: startedAt,
      to: (await serviceClock(http, admin)).now,
    });
    expect(orders.length).toBeGreaterThanOrEqual(acknowledged.size);
    for (const o of orders) expect(o.status).not.toBe('pending');
    // Every acknowledged success is on the balance.
    for (const ack of acknowledged.values()) {
      if (ack.status === 'succeeded') expect(orders.find((o) => o.id === ack.id)?.status).toBe('succeeded');
    }
    expect(balance).toBe(orders.filter((o) => o.status === 'succeeded').reduce((sum, o) => sum + o.amount, 0));
    await expectVerifyClean(env);
  });
});
