import { createHmac } from 'node:crypto';
import http from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSandboxNotification } from '../../src/channels/sandbox/index.js';
import type { SandboxTables } from '../../src/channels/sandbox/sandbox.migration.js';
import { expectProblem } from '../support/expect-problem.js';
import type { CallResult } from '../support/http-client.js';
import { eventually, recharge } from '../support/recharge-helpers.js';
import { DIALECT } from '../support/test-database.js';
import { type TestServer, startTestServer } from '../support/test-server.js';

/**
 * Channel notifications move money: a forged, replayed (stale timestamp) or altered one must
 * be refused with 401 and change nothing. Webhooks we send must fail Standard Webhooks
 * verification the moment their body, timestamp or secret is not the one signed.
 */
describe(`signed channel notifications (${DIALECT})`, () => {
  let server: TestServer;
  let customer: { id: string; token: string };
  let admin = '';
  let genuine: { provider: string; body: string };

  async function serviceNow(): Promise<number> {
    const clock = await server.http.get('/v1/sandbox/clock', { token: admin });
    return Math.floor(Date.parse(clock.body.now as string) / 1000);
  }

  async function notify(provider: string, body: string, headers: Record<string, string>): Promise<CallResult> {
    return server.http.call('POST', `/v1/channels/${provider}/notify`, body, {
      headers: { 'content-type': 'application/json', ...headers },
    });
  }

  /** What must not move when a notification is refused. */
  async function state() {
    const db = server.service.ctx.store.db;
    const balance = await server.http.get('/v1/balance', { token: customer.token });
    const orders = await server.http.get('/v1/recharges', { token: customer.token });
    const txns = await db
      .selectFrom('channel_transactions')
      .select(['provider', 'channel_txn_id', 'disposition'])
      .orderBy('channel_txn_id')
      .execute();
    const refunds = await db.selectFrom('refunds').select(['id', 'status', 'fallback']).orderBy('id').execute();
    const ledger = await db.selectFrom('ledger_transactions').select('id').execute();
    return {
      balance: balance.body,
      orders: orders.body.data.map((o: { id: string; status: string }) => [o.id, o.status]),
      txns,
      refunds,
      ledger: ledger.length,
    };
  }

  beforeAll(async () => {
    server = await startTestServer({ worker: false });
    admin = await server.adminToken();
    customer = await server.customer();
    // 6607: the channel collected and will never notify. Topup does not know yet — the
    // perfect target for a forged notification, and the genuine one is ours to build.
    const order = await recharge(server.http, customer.token, 6607, 'alipay');
    expect(order.body.status).toBe('pending');
    const detail = await server.http.get(`/v1/recharges/${order.body.id}`, { token: customer.token });
    const attemptId = detail.body.attempts[0].id as string;
    const collection = await server.service.ctx.store.db
      .withTables<SandboxTables>()
      .selectFrom('sandbox_collections')
      .selectAll()
      .where('attempt_id', '=', attemptId)
      .executeTakeFirstOrThrow();
    genuine = {
      provider: 'sandbox_alipay',
      body: JSON.stringify({
        notify_id: 'sbn_test_genuine_0001',
        event: 'payment.succeeded',
        provider: 'sandbox_alipay',
        attempt_id: attemptId,
        channel_txn_id: collection.channel_txn_id,
        amount: 6607,
        currency: 'CNY',
        paid_at: collection.paid_at,
      }),
    };
  });

  afterAll(async () => {
    await server?.close();
  });

  it('refuses forged, altered, misdirected and stale notifications with 401, changing nothing', async () => {
    const before = await state();
    const now = String(await serviceNow());
    const sign = (ts: string, body: string, provider = genuine.provider) => signSandboxNotification(provider, ts, body);
    const altered = genuine.body.replace('"amount":6607', '"amount":990000');
    const otherProvider = genuine.body.replace('"provider":"sandbox_alipay"', '"provider":"sandbox_wechat"');
    const attacks: { what: string; body: string; headers: Record<string, string>; provider?: string }[] = [
      { what: 'no signature at all', body: genuine.body, headers: { 'x-sandbox-timestamp': now } },
      { what: 'no timestamp', body: genuine.body, headers: { 'x-sandbox-signature': sign(now, genuine.body) } },
      {
        what: 'signed with a guessed secret',
        body: genuine.body,
        headers: {
          'x-sandbox-timestamp': now,
          'x-sandbox-signature': createHmac('sha256', 'secret').update(`${now}.${genuine.body}`).digest('hex'),
        },
      },
      {
        what: "signed with another provider's secret",
        body: genuine.body,
        headers: { 'x-sandbox-timestamp': now, 'x-sandbox-signature': sign(now, genuine.body, 'sandbox_wechat') },
      },
      {
        what: 'amount altered after signing',
        body: altered,
        headers: { 'x-sandbox-timestamp': now, 'x-sandbox-signature': sign(now, genuine.body) },
      },
      {
        what: 'timestamp altered after signing',
        body: genuine.body,
        headers: { 'x-sandbox-timestamp': String(Number(now) + 1), 'x-sandbox-signature': sign(now, genuine.body) },
      },
      {
        what: 'replayed: correctly signed 301 s ago',
        body: genuine.body,
        headers: { 'x-sandbox-timestamp': String(Number(now) - 301), 'x-sandbox-signature': sign(String(Number(now) - 301), genuine.body) },
      },
      {
        what: 'signed 301 s in the future',
        body: genuine.body,
        headers: { 'x-sandbox-timestamp': String(Number(now) + 301), 'x-sandbox-signature': sign(String(Number(now) + 301), genuine.body) },
      },
      {
        what: 'a body for another provider, sent to this one',
        body: otherProvider,
        headers: { 'x-sandbox-timestamp': now, 'x-sandbox-signature': sign(now, otherProvider) },
      },
      {
        what: 'signature truncated',
        body: genuine.body,
        headers: { 'x-sandbox-timestamp': now, 'x-sandbox-signature': sign(now, genuine.body).slice(0, 63) },
      },
      {
        what: 'signature as base64',
        body: genuine.body,
        headers: { 'x-sandbox-timestamp': now, 'x-sandbox-signature': Buffer.from(sign(now, genuine.body), 'hex').toString('base64') },
      },
      {
        what: 'notify id header disagreeing with the body',
        body: genuine.body,
        headers: { 'x-sandbox-timestamp': now, 'x-sandbox-signature': sign(now, genuine.body), 'x-sandbox-notify-id': 'sbn_other' },
      },
      {
        what: 'valid signature of the body sent to a provider it was not signed for',
        provider: 'sandbox_wechat',
        body: genuine.body,
        headers: { 'x-sandbox-timestamp': now, 'x-sandbox-signature': sign(now, genuine.body) },
      },
    ];
    for (const attack of attacks) {
      const res = await notify(attack.provider ?? genuine.provider, attack.body, attack.headers);
      expect(res.status, `${attack.what}: ${res.text}`).toBe(401);
      expectProblem(res, 401, 'UNAUTHENTICATED');
    }
    expect(await state()).toEqual(before);
  });

  it('accepts the genuine notification once; a resend credits nothing more; the same request replayed later is refused', async () => {
    const ts = String(await serviceNow());
    const headers = { 'x-sandbox-timestamp': ts, 'x-sandbox-signature': signSandboxNotification(genuine.provider, ts, genuine.body) };
    const first = await notify(genuine.provider, genuine.body, headers);
    expect(first.status, first.text).toBe(200);
    const credited = await state();
    expect(credited.balance.available).toBe(6607);
    expect(credited.orders[0][1]).toBe('succeeded');

    // The channel's resend (fresh timestamp): harmless.
    const again = String(await serviceNow());
    const resend = await notify(genuine.provider, genuine.body, {
      'x-sandbox-timestamp': again,
      'x-sandbox-signature': signSandboxNotification(genuine.provider, again, genuine.body),
    });
    expect(resend.status).toBe(200);
    expect(await state()).toEqual(credited);

    // An attacker replaying the captured request (its headers, its old timestamp) later.
    await server.advance(400);
    const replay = await notify(genuine.provider, genuine.body, headers);
    expectProblem(replay, 401, 'UNAUTHENTICATED');
    expect(await state()).toEqual(credited);
    await server.verify();
  });

  it('a forged refund.failed or refund.succeeded for a refund being paid out changes nothing', async () => {
    const order = await recharge(server.http, customer.token, 10_000, 'bank_card');
    expect(order.body.status).toBe('succeeded');
    const applied = await server.http.post(
      '/v1/refunds',
      { recharge_id: order.body.id, amount: 3_000, reason: 'unused_balance' },
      { token: customer.token, key: true },
    );
    expect(applied.status, applied.text).toBe(201);
    const agent = await server.staff('cs_agent');
    await server.http.post(`/v1/admin/refunds/${applied.body.id}/claim`, {}, { token: agent.token });
    const approved = await server.http.post(`/v1/admin/refunds/${applied.body.id}/approve`, {}, { token: agent.token });
    expect(approved.status, approved.text).toBe(200);
    await server.advance(1);
    const paying = await eventually(
      () => server.http.get(`/v1/refunds/${applied.body.id}`, { token: customer.token }),
      (r) => r.body.status === 'processing',
    );
    expect(paying.body.status).toBe('processing');
    const before = await state();
    const now = String(await serviceNow());
    for (const event of ['refund.failed', 'refund.succeeded']) {
      const body = JSON.stringify({
        notify_id: `sbn_forged_${event}`,
        event,
        provider: 'sandbox_unionpay_a',
        refund_id: applied.body.id,
        channel_refund_id: 'UPAR-forged',
        amount: 3_000,
      });
      const forged = createHmac('sha256', 'not-the-secret').update(`${now}.${body}`).digest('hex');
      const res = await notify('sandbox_unionpay_a', body, { 'x-sandbox-timestamp': now, 'x-sandbox-signature': forged });
      expectProblem(res, 401, 'UNAUTHENTICATED');
      const stale = String(Number(now) - 3600);
      const replayed = await notify('sandbox_unionpay_a', body, {
        'x-sandbox-timestamp': stale,
        'x-sandbox-signature': signSandboxNotification('sandbox_unionpay_a', stale, body),
      });
      expectProblem(replayed, 401, 'UNAUTHENTICATED');
    }
    expect(await state()).toEqual(before);
    await server.verify();
  });
});

describe(`webhook signatures (Standard Webhooks) (${DIALECT})`, () => {
  let server: TestServer;
  let receiver: http.Server;
  const received: { headers: Record<string, string>; body: string }[] = [];

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        received.push({ headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    server = await startTestServer({ worker: true });
  });

  afterAll(async () => {
    await server?.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it('a delivery verifies with its secret, and fails once its body, timestamp, id or secret is not the signed one', async () => {
    const customer = await server.customer();
    const port = (receiver.address() as { port: number }).port;
    const endpoint = await server.http.post(
      '/v1/webhook-endpoints',
      { url: `http://127.0.0.1:${port}/hooks`, events: ['recharge.succeeded'] },
      { token: customer.token },
    );
    expect(endpoint.status, endpoint.text).toBe(201);
    const secret = endpoint.body.secret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    const other = await server.http.post(
      '/v1/webhook-endpoints',
      { url: `http://127.0.0.1:${port}/other`, events: ['refund.succeeded'] },
      { token: customer.token },
    );
    expect(other.status).toBe(201);

    expect((await recharge(server.http, customer.token, 1_000, 'alipay')).body.status).toBe('succeeded');
    const delivery = await eventually(
      async () => received.find((r) => r.body.includes('recharge.succeeded')),
      (r) => r !== undefined,
      15_000,
    );
    if (!delivery) throw new Error('no webhook delivery');
    const hook = new Webhook(secret);
    expect(hook.verify(delivery.body, delivery.headers)).toMatchObject({ type: 'recharge.succeeded' });

    const tampered: { what: string; body: string; headers: Record<string, string>; secret?: string }[] = [
      { what: 'body altered', body: delivery.body.replace('"amount":1000', '"amount":100000'), headers: delivery.headers },
      { what: 'body with a trailing space', body: `${delivery.body} `, headers: delivery.headers },
      {
        what: 'timestamp moved by one second',
        body: delivery.body,
        headers: { ...delivery.headers, 'webhook-timestamp': String(Number(delivery.headers['webhook-timestamp']) + 1) },
      },
      {
        what: 'timestamp an hour old, re-used signature',
        body: delivery.body,
        headers: { ...delivery.headers, 'webhook-timestamp': String(Number(delivery.headers['webhook-timestamp']) - 3600) },
      },
      { what: 'another webhook id', body: delivery.body, headers: { ...delivery.headers, 'webhook-id': 'msg_other' } },
      { what: "another endpoint's secret", body: delivery.body, headers: delivery.headers, secret: other.body.secret as string },
      { what: 'no signature', body: delivery.body, headers: { ...delivery.headers, 'webhook-signature': '' } },
    ];
    for (const t of tampered) {
      expect(() => new Webhook(t.secret ?? secret).verify(t.body, t.headers), t.what).toThrow();
    }
    // A stale delivery is refused by the receiver's clock even with an intact signature.
    const oldTs = Math.floor(Date.now() / 1000) - 3600;
    const stale = hook.sign(delivery.headers['webhook-id'] ?? '', new Date(oldTs * 1000), delivery.body);
    expect(() =>
      hook.verify(delivery.body, { ...delivery.headers, 'webhook-timestamp': String(oldTs), 'webhook-signature': stale }),
    ).toThrow();
  });
});
