import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recharge } from '../../test/support/recharge-helpers.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';

/** The notify endpoint must reject anything not signed by the channel, and change nothing. */
describe('POST /v1/channels/{provider}/notify', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  async function send(provider: string, body: string, headers: Record<string, string>) {
    return fetch(`${server.url}/v1/channels/${provider}/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
  }

  it('rejects forged, altered, unsigned and stale notifications with 401 and changes nothing', async () => {
    const c = await server.customer();
    const pending = await recharge(server.http, c.token, 6607, 'alipay'); // collected, never notified
    expect(pending.body.status).toBe('pending');
    const detail = await server.http.get(`/v1/recharges/${pending.body.id}`, { token: c.token });
    const attemptId = detail.body.attempts[0].id as string;
    const clock = await server.http.get('/v1/sandbox/clock', { token: await server.adminToken() });
    const ts = String(Math.floor(Date.parse(clock.body.now) / 1000));
    const body = JSON.stringify({
      notify_id: 'forged-1',
      event: 'payment.succeeded',
      provider: 'sandbox_alipay',
      attempt_id: attemptId,
      channel_txn_id: 'forged-txn',
      amount: 6607,
      currency: 'CNY',
      paid_at: clock.body.now,
    });
    const forged = createHmac('sha256', 'not-the-secret').update(`${ts}.${body}`).digest('hex');
    const attempts = [
      await send('sandbox_alipay', body, { 'x-sandbox-timestamp': ts, 'x-sandbox-signature': forged, 'x-sandbox-notify-id': 'forged-1' }),
      await send('sandbox_alipay', body, {}),
      await send('sandbox_alipay', 'not json', { 'x-sandbox-timestamp': ts, 'x-sandbox-signature': forged }),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe('UNAUTHENTICATED');
    }
    expect((await send('nope', body, {})).status).toBe(404);
    const after = await server.http.get(`/v1/recharges/${pending.body.id}`, { token: c.token });
    expect(after.body.status).toBe('pending');
    expect((await server.http.get('/v1/balance', { token: c.token })).body.available).toBe(0);
    const rows = await server.service.ctx.store.db
      .selectFrom('channel_transactions')
      .selectAll()
      .where('channel_txn_id', '=', 'forged-txn')
      .execute();
    expect(rows).toHaveLength(0);
  });

  it('a genuine notification resent many times credits once', async () => {
    const c = await server.customer();
    const res = await recharge(server.http, c.token, 1_234, 'wechat_pay');
    expect(res.body.status).toBe('succeeded');
    // The sandbox notifies after its synchronous answer and would resend until acknowledged.
    await server.advance(24 * 3600);
    expect((await server.http.get('/v1/balance', { token: c.token })).body.available).toBe(1_234);
    await server.verify();
  });
});
