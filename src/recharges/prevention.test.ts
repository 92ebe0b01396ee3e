import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, recharge } from '../../test/support/recharge-helpers.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';

describe('low-balance reminder and threshold auto-recharge', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  async function events(customerId: string, type: string) {
    return server.service.ctx.store.db
      .selectFrom('events')
      .selectAll()
      .where('customer_id', '=', customerId)
      .where('type', '=', type)
      .execute();
  }
  async function buy(token: string, amount: number) {
    const res = await server.http.post('/v1/purchases', { amount, description: 'api' }, { token, key: true });
    expect(res.status).toBe(201);
  }

  it('sends balance.low once per crossing from >= threshold to < threshold', async () => {
    const c = await server.customer();
    const set = await server.http.put('/v1/balance/reminder', { threshold: 5_000 }, { token: c.token });
    expect(set.status).toBe(200);
    expect(set.body.threshold).toBe(5_000);
    expect((await server.http.get('/v1/balance/reminder', { token: c.token })).body.threshold).toBe(5_000);
    await recharge(server.http, c.token, 10_000, 'alipay');
    await buy(c.token, 4_000); // 6000: still above
    await buy(c.token, 2_000); // 4000: crossed
    await buy(c.token, 1_000); // 3000: already below, no second reminder
    await eventually(
      () => events(c.id, 'balance.low'),
      (list) => list.length === 1,
    );
    await recharge(server.http, c.token, 10_000, 'alipay'); // back above
    await buy(c.token, 9_000); // 4000: crossed again
    const twice = await eventually(
      () => events(c.id, 'balance.low'),
      (list) => list.length === 2,
    );
    expect(JSON.parse(twice[1]?.data ?? '{}')).toMatchObject({ available: 4_000, threshold: 5_000 });
    const off = await server.http.put('/v1/balance/reminder', { threshold: null }, { token: c.token });
    expect(off.body.threshold).toBeNull();
    const bad = await server.http.put('/v1/balance/reminder', { threshold: '100' }, { token: c.token });
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it('tops up with the stored credential when the balance drops below the threshold, one at a time', async () => {
    const c = await server.customer();
    const first = await recharge(server.http, c.token, 10_000, 'bank_card');
    expect(first.body.status).toBe('succeeded');
    const set = await server.http.put(
      '/v1/balance/auto-recharge',
      { enabled: true, threshold: 3_000, amount: 20_000, from_recharge_id: first.body.id },
      { token: c.token },
    );
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ enabled: true, threshold: 3_000, amount: 20_000, from_recharge_id: first.body.id });
    await buy(c.token, 8_000); // 2000 < 3000 → auto top-up of 20000
    const topped = await eventually(
      async () => (await server.http.get('/v1/balance', { token: c.token })).body.available as number,
      (available) => available === 22_000,
    );
    expect(topped).toBe(22_000);
    const orders = (await server.http.get('/v1/recharges', { token: c.token })).body.data;
    expect(orders).toHaveLength(2);
    expect(orders[0]).toMatchObject({ auto_recharge: true, status: 'succeeded', amount: 20_000, method: 'bank_card' });
    expect(orders[0].payment_method.masked).toBe(first.body.payment_method.masked);
    await server.verify();
  });

  it('tells the customer auto_recharge.failed when the top-up fails', async () => {
    const c = await server.customer();
    const first = await recharge(server.http, c.token, 10_000, 'alipay');
    // 6604 makes the channel decline for insufficient funds.
    await server.http.put(
      '/v1/balance/auto-recharge',
      { enabled: true, threshold: 5_000, amount: 6604, from_recharge_id: first.body.id },
      { token: c.token },
    );
    await buy(c.token, 6_000);
    await eventually(
      () => events(c.id, 'auto_recharge.failed'),
      (list) => list.length === 1,
    );
    const settings = await server.http.get('/v1/balance/auto-recharge', { token: c.token });
    expect(settings.body.in_flight_recharge_id).toBeNull();
    expect((await server.http.get('/v1/balance', { token: c.token })).body.available).toBe(4_000);
  });

  it('refuses another customer’s recharge as the source (404) and an unusable one (409)', async () => {
    const a = await server.customer();
    const b = await server.customer();
    const theirs = await recharge(server.http, b.token, 1_000, 'alipay');
    const other = await server.http.put(
      '/v1/balance/auto-recharge',
      { enabled: true, threshold: 1, amount: 1_000, from_recharge_id: theirs.body.id },
      { token: a.token },
    );
    expect(other.status).toBe(404);
    const failed = await recharge(server.http, a.token, 6604, 'alipay');
    const unusable = await server.http.put(
      '/v1/balance/auto-recharge',
      { enabled: true, threshold: 1, amount: 1_000, from_recharge_id: failed.body.id },
      { token: a.token },
    );
    expect(unusable.status).toBe(409);
    expect(unusable.body.code).toBe('INVALID_STATE');
    const missing = await server.http.put('/v1/balance/auto-recharge', { enabled: true }, { token: a.token });
    expect(missing.body.code).toBe('VALIDATION_FAILED');
  });
});
