import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/recharge-helpers.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';
import type { PaymentChannel } from '../channels/payment-channel.js';
import { ChannelRouter } from '../channels/router.js';
import type { SandboxTables } from '../channels/sandbox/sandbox.migration.js';
import { createRecharge } from './create-recharge.js';
import { resolveAttempt } from './resolve-attempt.js';

/**
 * Found by the chaos suite (test/chaos): the resolver's first status query can run while the
 * pay call it is about is still on its way to the channel (a slow call, a clock that moved, a
 * busy process). The channel then has no record yet; taking that "not found" as "never
 * collected" failed the order, and when the payment then went through without a notification
 * (6607 / lost_notify) the payer's money was never credited nor refunded. Now the resolver
 * closes the order at the channel before calling it failed, and a channel that cannot close
 * orders is only believed past the order's expiry.
 */
describe('resolver: "not found" while the pay call may still be in flight', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ worker: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  /** The same provider, whose pay() reaches the channel only when the test says so. */
  function gated(provider: string): { channel: PaymentChannel; release: () => void } {
    const sandbox = server.service.router.channel(provider);
    if (!sandbox) throw new Error(`no ${provider}`);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const channel: PaymentChannel = {
      provider: sandbox.provider,
      methods: sandbox.methods,
      pay: async (request) => {
        await gate;
        return sandbox.pay(request);
      },
      query: (id) => sandbox.query(id),
      refund: (request) => sandbox.refund(request),
      queryRefund: (id) => sandbox.queryRefund(id),
      verifyNotification: (headers, body) => sandbox.verifyNotification(headers, body),
      statement: (date) => sandbox.statement(date),
    };
    return { channel, release };
  }

  async function orderOf(customerId: string) {
    const ctx = server.service.ctx;
    const order = await eventually(
      () => ctx.store.db.selectFrom('recharges').selectAll().where('customer_id', '=', customerId).executeTakeFirst(),
      (row) => row !== undefined,
    );
    if (!order) throw new Error('no order');
    return order;
  }

  it('closes the order at the channel first: the late pay call collects nothing, nothing is lost', async () => {
    const ctx = server.service.ctx;
    const { channel, release } = gated('sandbox_alipay');
    const customer = await server.customer();
    // 6607: were it collected, the channel would never tell.
    const creating = createRecharge(ctx, new ChannelRouter(ctx, [channel]), {
      customerId: customer.id,
      amount: 6607,
      method: 'alipay',
      paymentMethod: { payer_account: 'buyer@example.com' },
      requestKey: null,
    });
    const order = await orderOf(customer.id);

    // The first status query runs before the channel has seen the payment.
    await server.advance(15);
    const during = await server.http.get(`/v1/recharges/${order.id}`, { token: customer.token });
    expect(during.body.status).toBe('failed');
    expect(during.body.failure.code).toBe('CHANNEL_TIMEOUT');

    // The pay call arrives after all: the channel refuses it, nothing is collected.
    release();
    expect((await creating).status).toBe('failed');
    const collections = await ctx.store.db
      .withTables<SandboxTables>()
      .selectFrom('sandbox_collections')
      .selectAll()
      .where('provider', '=', 'sandbox_alipay')
      .where('amount', '=', 6607)
      .execute();
    expect(collections).toEqual([]);
    await server.advance(3600);
    expect((await server.http.get(`/v1/recharges/${order.id}`, { token: customer.token })).body.status).toBe('failed');
    expect((await server.http.get('/v1/balance', { token: customer.token })).body.available).toBe(0);
    await server.verify();
  });

  it('an order whose pay call never happened (the process died) still fails within seconds', async () => {
    const ctx = server.service.ctx;
    const customer = await server.customer();
    const sandbox = server.service.router.channel('sandbox_wechat');
    if (!sandbox) throw new Error('no sandbox_wechat');
    const never: PaymentChannel = { ...gated('sandbox_wechat').channel, pay: () => new Promise(() => {}) };
    void createRecharge(ctx, new ChannelRouter(ctx, [never]), {
      customerId: customer.id,
      amount: 1234,
      method: 'wechat_pay',
      paymentMethod: { payer_account: 'buyer@example.com' },
      requestKey: null,
    });
    const order = await orderOf(customer.id);
    await server.advance(15);
    const failed = await server.http.get(`/v1/recharges/${order.id}`, { token: customer.token });
    expect(failed.body.status).toBe('failed');
    expect(failed.body.failure.code).toBe('CHANNEL_TIMEOUT');
    await server.verify();
  });

  it('a channel that cannot close orders is believed only past the order expiry, and then a late payment is still found', async () => {
    const ctx = server.service.ctx;
    const { channel, release } = gated('sandbox_wechat');
    // The resolver's view of a channel without close(): "not found" is all it can say.
    const router = new ChannelRouter(ctx, [channel]);
    const customer = await server.customer();
    const creating = createRecharge(ctx, router, {
      customerId: customer.id,
      amount: 6607,
      method: 'wechat_pay',
      paymentMethod: { payer_account: 'buyer@example.com' },
      requestKey: null,
    });
    const order = await orderOf(customer.id);
    const attempt = await ctx.store.db
      .selectFrom('recharge_attempts')
      .selectAll()
      .where('recharge_id', '=', order.id)
      .executeTakeFirstOrThrow();
    await resolveAttempt(ctx, router, attempt.id, 0);
    expect((await server.http.get(`/v1/recharges/${order.id}`, { token: customer.token })).body.status).toBe('pending');

    release();
    expect((await creating).status).toBe('pending');
    await resolveAttempt(ctx, router, attempt.id, 1);
    expect((await server.http.get(`/v1/recharges/${order.id}`, { token: customer.token })).body.status).toBe('succeeded');
    expect((await server.http.get('/v1/balance', { token: customer.token })).body.available).toBe(6607);

    // A pay call that never comes: pending until the order expires (30 min), then closed.
    const other = await server.customer();
    const never: PaymentChannel = { ...gated('sandbox_wechat').channel, pay: () => new Promise(() => {}) };
    const silent = new ChannelRouter(ctx, [never]);
    void createRecharge(ctx, silent, {
      customerId: other.id,
      amount: 1234,
      method: 'wechat_pay',
      paymentMethod: { payer_account: 'buyer@example.com' },
      requestKey: null,
    });
    const stuck = await orderOf(other.id);
    const stuckAttempt = await ctx.store.db
      .selectFrom('recharge_attempts')
      .selectAll()
      .where('recharge_id', '=', stuck.id)
      .executeTakeFirstOrThrow();
    await resolveAttempt(ctx, silent, stuckAttempt.id, 0);
    expect((await server.http.get(`/v1/recharges/${stuck.id}`, { token: other.token })).body.status).toBe('pending');
    // Move the clock past the expiry without running the service's own jobs (they would ask a channel that can close).
    const offset = ctx.clock.offset + 31 * 60_000;
    await ctx.store.db.updateTable('service_clock').set({ offset_ms: offset }).where('id', '=', 1).execute();
    ctx.clock.setOffset(offset);
    await resolveAttempt(ctx, silent, stuckAttempt.id, 3);
    const closed = await server.http.get(`/v1/recharges/${stuck.id}`, { token: other.token });
    expect(closed.body.status).toBe('closed');
    expect(closed.body.failure.code).toBe('CHANNEL_TIMEOUT');
    await server.verify();
  });
});
