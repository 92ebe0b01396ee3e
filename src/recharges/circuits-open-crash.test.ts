import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';
import { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import type { Store } from '../store/database.js';
import { inTransaction } from '../store/transaction.js';
import { createRecharge } from './create-recharge.js';

/**
 * Found by the long chaos run (SQLite, seed 20260102): with every provider of the method behind
 * an open circuit, the order was committed `pending` without an attempt and failed in a second
 * transaction. A SIGKILL between the two left it pending for good — no attempt, so no resolver,
 * and its share of the daily limit kept. The order must be failed in the transaction that
 * creates it.
 */
describe('recharge while every provider of the method is behind an open circuit', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ worker: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('fails the order in the transaction that creates it: a crash right after leaves nothing pending', async () => {
    const ctx = server.service.ctx;
    for (let i = 0; i < 5; i++) await server.service.router.recordFailure('sandbox_wechat');
    const customer = await server.customer();

    // The process "dies" after its first write transaction: any later one never happens.
    let transactions = 0;
    const dying: Store = {
      ...ctx.store,
      groupCommit: {
        run: <T>(work: Parameters<typeof inTransaction<T>>[1]) => {
          transactions += 1;
          return transactions === 1 ? inTransaction(ctx.store, work) : Promise.reject(new Error('SIGKILL'));
        },
      } as unknown as Store['groupCommit'],
    };
    const dyingCtx: Context = { ...ctx, store: dying };
    const channel = server.service.router.channel('sandbox_wechat');
    if (!channel) throw new Error('no sandbox_wechat');
    const outcome = await createRecharge(dyingCtx, new ChannelRouter(dyingCtx, [channel]), {
      customerId: customer.id,
      amount: 1_000,
      method: 'wechat_pay',
      paymentMethod: { payer_account: 'buyer@example.com' },
      requestKey: null,
    }).then(
      (row) => row.status,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    expect(['failed', 'SIGKILL']).toContain(outcome);

    const orders = await server.http.get('/v1/recharges', { token: customer.token });
    expect(orders.body.data).toHaveLength(1);
    expect(orders.body.data[0]).toMatchObject({ status: 'failed', failure: { code: 'SYSTEM_BUSY', retryable: true } });
    // Its share of the daily limit was given back.
    const totals = await ctx.store.db.selectFrom('recharge_daily_totals').select('amount').where('customer_id', '=', customer.id).execute();
    expect(totals.map((t) => Number(t.amount))).toEqual([0]);
    await server.verify();
  });
});
