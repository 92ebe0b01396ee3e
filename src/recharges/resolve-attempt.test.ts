import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/recharge-helpers.js';
import { type TestServer, startTestServer } from '../../test/support/test-server.js';
import type { PaymentChannel } from '../channels/payment-channel.js';
import { ChannelRouter } from '../channels/router.js';
import { createRecharge } from './create-recharge.js';

/**
 * Found by the chaos suite (test/chaos): the resolver's first status query can run while the
 * pay call it is about is still on its way to the channel (a slow call, a clock that moved, a
 * busy process). The channel then has no record yet; taking that "not found" as "never
 * collected" failed the order, and when the payment then went through without a notification
 * (6607 / lost_notify) the payer's money was never credited nor refunded.
 */
describe('resolver: "not found" while the pay call is still in flight', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ worker: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('keeps the order pending, then finds and credits the silent payment', async () => {
    const ctx = server.service.ctx;
    const sandbox = server.service.router.channel('sandbox_alipay');
    if (!sandbox) throw new Error('no sandbox_alipay');
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The same provider, whose pay() reaches the channel only when the test says so.
    const slow: PaymentChannel = {
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
    const customer = await server.customer();
    const creating = createRecharge(ctx, new ChannelRouter(ctx, [slow]), {
      customerId: customer.id,
      amount: 6607,
      method: 'alipay',
      paymentMethod: { payer_account: 'buyer@example.com' },
      requestKey: null,
    });
    const order = await eventually(
      () => ctx.store.db.selectFrom('recharges').selectAll().where('customer_id', '=', customer.id).executeTakeFirst(),
      (row) => row !== undefined,
    );
    if (!order) throw new Error('no order');

    // The first status query runs before the channel has seen the payment.
    await server.advance(15);
    const during = await server.http.get(`/v1/recharges/${order.id}`, { token: customer.token });
    expect(during.body.status).toBe('pending');

    // The payment goes through, and its notification is never sent (6607).
    release();
    const answered = await creating;
    expect(answered.status).toBe('pending');

    await server.advance(3600);
    const after = await server.http.get(`/v1/recharges/${order.id}`, { token: customer.token });
    expect(after.body.status).toBe('succeeded');
    expect((await server.http.get('/v1/balance', { token: customer.token })).body.available).toBe(6607);
    await server.verify();
  });

  it('closes an order the channel never saw once it has expired', async () => {
    const ctx = server.service.ctx;
    const customer = await server.customer();
    // A process that died between committing the intent and calling the channel: pay() never comes.
    const never: PaymentChannel = {
      ...(server.service.router.channel('sandbox_wechat') as PaymentChannel),
      provider: 'sandbox_wechat',
      methods: ['wechat_pay'],
      pay: () => new Promise(() => {}),
    };
    void createRecharge(ctx, new ChannelRouter(ctx, [never]), {
      customerId: customer.id,
      amount: 1234,
      method: 'wechat_pay',
      paymentMethod: { payer_account: 'buyer@example.com' },
      requestKey: null,
    });
    const order = await eventually(
      () => ctx.store.db.selectFrom('recharges').selectAll().where('customer_id', '=', customer.id).executeTakeFirst(),
      (row) => row !== undefined,
    );
    if (!order) throw new Error('no order');
    await server.advance(15);
    expect((await server.http.get(`/v1/recharges/${order.id}`, { token: customer.token })).body.status).toBe('pending');
    // Within the hour the contract gives unknown outcomes.
    await server.advance(3600);
    const closed = await server.http.get(`/v1/recharges/${order.id}`, { token: customer.token });
    expect(closed.body.status).toBe('closed');
    expect(closed.body.failure.code).toBe('CHANNEL_TIMEOUT');
    await server.verify();
  });
});
