import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARDS, card, recharge } from '../../test/support/recharge-helpers.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';

describe('router: maintenance windows, circuit breaker, public status', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a method whose only provider is in maintenance is refused with CHANNEL_MAINTENANCE and alternatives', async () => {
    const admin = await server.adminToken();
    const c = await server.customer();
    const started = await server.http.post(
      '/v1/admin/providers/sandbox_alipay/maintenance',
      { message: '支付宝系统升级' },
      { token: admin },
    );
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ provider: 'sandbox_alipay', state: 'maintenance', methods: ['alipay'] });

    const refused = await recharge(server.http, c.token, 1_000, 'alipay');
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'CHANNEL_MAINTENANCE', retryable: true });
    expect(refused.body.alternatives).toEqual(expect.arrayContaining(['bank_card', 'credit_card', 'wechat_pay']));
    expect(refused.body.alternatives).not.toContain('alipay');
    expect(((await server.http.get('/v1/recharges', { token: c.token })).body.data as unknown[]).length).toBe(0);

    const status = await server.http.get('/v1/status');
    expect(status.status).toBe(200);
    expect(status.body.methods).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ method: 'alipay', state: 'maintenance' }),
        expect.objectContaining({ method: 'wechat_pay', state: 'operational' }),
      ]),
    );
    expect(status.body.incidents).toEqual(
      expect.arrayContaining([expect.objectContaining({ provider: 'sandbox_alipay', kind: 'maintenance', message: '支付宝系统升级' })]),
    );

    const ended = await server.http.delete('/v1/admin/providers/sandbox_alipay/maintenance', { token: admin });
    expect(ended.status).toBe(204);
    expect((await recharge(server.http, c.token, 1_000, 'alipay')).body.status).toBe('succeeded');
    const after = await server.http.get('/v1/status');
    expect(after.body.methods.find((m: { method: string }) => m.method === 'alipay').state).toBe('operational');
  });

  it('a card payment skips a provider in maintenance (degraded) and a window with `until` ends by itself', async () => {
    const admin = await server.adminToken();
    const c = await server.customer();
    const until = new Date(Date.parse((await server.http.get('/v1/sandbox/clock', { token: admin })).body.now) + 600_000).toISOString();
    await server.http.post('/v1/admin/providers/sandbox_unionpay_a/maintenance', { message: '银行系统升级', until }, { token: admin });
    const res = await recharge(server.http, c.token, 1_000, 'bank_card');
    expect(res.body).toMatchObject({ status: 'succeeded', provider: 'sandbox_unionpay_b' });
    const status = await server.http.get('/v1/status');
    expect(status.body.methods.find((m: { method: string }) => m.method === 'bank_card').state).toBe('degraded');
    await server.advance(601);
    expect((await recharge(server.http, c.token, 1_000, 'bank_card')).body.provider).toBe('sandbox_unionpay_a');
  });

  it('maintenance endpoints are admin-only and know their providers', async () => {
    const agent = await server.staff('cs_agent');
    const c = await server.customer();
    expect(
      (await server.http.post('/v1/admin/providers/sandbox_alipay/maintenance', { message: 'x' }, { token: agent.token })).status,
    ).toBe(403);
    expect((await server.http.post('/v1/admin/providers/sandbox_alipay/maintenance', { message: 'x' }, { token: c.token })).status).toBe(
      403,
    );
    expect((await server.http.post('/v1/admin/providers/sandbox_alipay/maintenance', { message: 'x' })).status).toBe(401);
    const unknown = await server.http.post('/v1/admin/providers/nope/maintenance', { message: 'x' }, { token: await server.adminToken() });
    expect(unknown.status).toBe(404);
  });

  it('opens a provider circuit after 5 consecutive busy answers within a minute, retries it after 30 s', async () => {
    const c = await server.customer();
    for (let i = 0; i < 5; i++) {
      const busy = await recharge(server.http, c.token, 6611, 'wechat_pay');
      expect(busy.body.failure.code).toBe('SYSTEM_BUSY');
    }
    const providers = await server.http.get('/v1/admin/providers', { token: await server.adminToken() });
    expect(providers.body.data.find((p: { provider: string }) => p.provider === 'sandbox_wechat').state).toBe('circuit_open');
    const status = await server.http.get('/v1/status');
    expect(status.body.incidents).toEqual(
      expect.arrayContaining([expect.objectContaining({ provider: 'sandbox_wechat', kind: 'outage' })]),
    );

    // While open, the provider is not called: even a good payment fails fast as SYSTEM_BUSY.
    const fast = await recharge(server.http, c.token, 1_000, 'wechat_pay');
    expect(fast.body).toMatchObject({ status: 'failed' });
    expect(fast.body.failure.code).toBe('SYSTEM_BUSY');

    await server.advance(31);
    const healed = await recharge(server.http, c.token, 1_000, 'wechat_pay');
    expect(healed.body.status).toBe('succeeded');
    const closed = await server.http.get('/v1/admin/providers', { token: await server.adminToken() });
    expect(closed.body.data.find((p: { provider: string }) => p.provider === 'sandbox_wechat').state).toBe('available');
    await server.verify();
  });

  it('card test cards work on the failover provider too', async () => {
    const c = await server.customer();
    const res = await recharge(server.http, c.token, 6601, 'credit_card', card(CARDS.mastercard));
    expect(res.body).toMatchObject({ status: 'succeeded', provider: 'sandbox_unionpay_b' });
  });
});
