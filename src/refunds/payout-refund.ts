import { ChannelFault } from '../channels/payment-channel.js';
import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { enqueueJob } from '../jobs/job-queue.js';
import { backoffMs, RetryLater, type Worker } from '../jobs/worker.js';
import { accounts } from '../ledger/accounts.js';
import { postTransaction, transfer } from '../ledger/post-transaction.js';
import { inTransaction } from '../store/transaction.js';
import { releaseApplicationLock } from './customer-actions.js';
import { addRefundEvent, findRefund } from './refund.repo.js';

/** When to ask the channel again about a refund it accepted (wallets settle in minutes, cards in days). */
const POLL_DELAYS_S = [60, 300, 1800, 3600, 7200, 14_400, 14_400, 14_400, 14_400, 14_400, 14_400, 28_800, 28_800, 28_800, 28_800, 28_800];

async function schedulePoll(ctx: Context, refundId: string, n: number): Promise<void> {
  const delay = POLL_DELAYS_S[Math.min(n, POLL_DELAYS_S.length - 1)] ?? 3600;
  const now = ctx.clock.now();
  await enqueueJob(
    ctx.store.db,
    {
      type: 'refund.poll',
      payload: { refundId, n },
      runAt: new Date(now.getTime() + delay * 1000),
      dedupeKey: `refund-poll:${refundId}:${n}`,
    },
    now,
  );
}

/**
 * The channel confirmed the refund: `refunds:in_flight → channel:clearing`. Guarded on
 * `processing`, so a notification and a poll arriving together settle it once.
 */
export async function completeRefund(ctx: Context, refundId: string, channelRefundId: string | null): Promise<boolean> {
  const now = ctx.clock.now();
  const done = await inTransaction(ctx.store, async (trx) => {
    const updated = await trx
      .updateTable('refunds')
      .set({ status: 'succeeded', succeeded_at: now.toISOString(), updated_at: now.toISOString() })
      .where('id', '=', refundId)
      .where('status', '=', 'processing')
      .returningAll()
      .executeTakeFirst();
    if (!updated) return null;
    if (channelRefundId && !updated.channel_refund_id) {
      await trx.updateTable('refunds').set({ channel_refund_id: channelRefundId }).where('id', '=', refundId).execute();
    }
    await postTransaction(trx, {
      kind: 'refund.settled',
      ref: refundId,
      actor: 'system',
      customerId: updated.customer_id,
      at: now,
      legs: transfer(accounts.refundsInFlight(), accounts.channelClearing(updated.provider), Number(updated.amount)),
    });
    await addRefundEvent(trx, { refundId, status: 'succeeded', actor: 'system', note: 'The channel confirmed the refund', at: now });
    await releaseApplicationLock(trx, refundId);
    await emitEvent(trx, {
      customerId: updated.customer_id,
      type: 'refund.succeeded',
      subjectId: refundId,
      data: { refund_id: refundId, recharge_id: updated.recharge_id, amount: Number(updated.amount), destination: updated.destination },
      at: now,
    });
    return updated;
  });
  if (done) {
    ctx.metrics.refunds.inc({ reason: done.reason, status: 'succeeded' });
    ctx.metrics.refundMoneySeconds.observe((now.getTime() - Date.parse(done.created_at)) / 1000);
  }
  return done !== null;
}

/**
 * The original route refused the money for good (payer account closed): the refund fails and
 * the amount is credited to the customer's Topup balance instead (`refunds:in_flight →
 * customer:balance`), and they are told.
 */
export async function fallBackToBalance(ctx: Context, refundId: string, reason: string): Promise<boolean> {
  const now = ctx.clock.now();
  const done = await inTransaction(ctx.store, async (trx) => {
    const updated = await trx
      .updateTable('refunds')
      .set({ status: 'failed', failure_reason: reason, fallback: 'balance', updated_at: now.toISOString() })
      .where('id', '=', refundId)
      .where('status', '=', 'processing')
      .returningAll()
      .executeTakeFirst();
    if (!updated) return null;
    await postTransaction(trx, {
      kind: 'refund.fallback',
      ref: refundId,
      actor: 'system',
      customerId: updated.customer_id,
      memo: reason,
      at: now,
      legs: transfer(accounts.refundsInFlight(), accounts.customerBalance(updated.customer_id), Number(updated.amount)),
    });
    await addRefundEvent(trx, {
      refundId,
      status: 'failed',
      actor: 'system',
      note: `The original payment method refused the refund (${reason}); the amount was credited to your Topup balance instead`,
      at: now,
    });
    await releaseApplicationLock(trx, refundId);
    await emitEvent(trx, {
      customerId: updated.customer_id,
      type: 'refund.failed',
      subjectId: refundId,
      data: { refund_id: refundId, recharge_id: updated.recharge_id, amount: Number(updated.amount), reason, fallback: 'balance' },
      at: now,
    });
    return updated;
  });
  if (done) ctx.metrics.refunds.inc({ reason: done.reason, status: 'failed' });
  return done !== null;
}

/** Sends approved refunds to their channel and follows them until the channel settles them. */
export function registerRefundJobs(ctx: Context, worker: Worker, router: ChannelRouter): void {
  worker.register('refund.payout', async (payload, job) => {
    const refundId = String(payload.refundId);
    const refund = await findRefund(ctx.store.db, refundId);
    if (!refund || (refund.status !== 'approved' && refund.status !== 'processing')) return;
    if (refund.status === 'approved') {
      const now = ctx.clock.now();
      await inTransaction(ctx.store, async (trx) => {
        const moved = await trx
          .updateTable('refunds')
          .set({ status: 'processing', updated_at: now.toISOString() })
          .where('id', '=', refundId)
          .where('status', '=', 'approved')
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) === 1) {
          if (refund.money_source === 'balance') {
            // Held at approval; now it leaves the customer's side: held → refunds in flight.
            await postTransaction(trx, {
              kind: 'refund.sent',
              ref: refundId,
              actor: 'system',
              customerId: refund.customer_id,
              at: now,
              legs: transfer(accounts.customerHeld(refund.customer_id), accounts.refundsInFlight(), Number(refund.amount)),
            });
          }
          await addRefundEvent(trx, { refundId, status: 'processing', actor: 'system', note: 'Sent to the payment channel', at: now });
        }
      });
      ctx.metrics.refunds.inc({ reason: refund.reason, status: 'processing' });
    }
    if (refund.channel_refund_id) {
      await schedulePoll(ctx, refundId, 0);
      return;
    }
    const channel = router.channel(refund.provider);
    if (!channel || !refund.channel_txn_id) {
      await fallBackToBalance(ctx, refundId, 'the original payment channel is not available');
      return;
    }
    try {
      // Our refund id is the channel's idempotency key: a retry after a timeout cannot refund twice.
      const result = await channel.refund({ refundId, channelTxnId: refund.channel_txn_id, amount: Number(refund.amount) });
      ctx.metrics.channelCalls.inc({ provider: refund.provider, operation: 'refund', outcome: result.outcome });
      if (result.outcome === 'refused') {
        await fallBackToBalance(ctx, refundId, result.reason);
        return;
      }
      await ctx.store.db
        .updateTable('refunds')
        .set({ channel_refund_id: result.channelRefundId, updated_at: ctx.clock.now().toISOString() })
        .where('id', '=', refundId)
        .execute();
      await schedulePoll(ctx, refundId, 0);
    } catch (error) {
      if (error instanceof ChannelFault) {
        ctx.metrics.channelCalls.inc({ provider: refund.provider, operation: 'refund', outcome: error.kind });
        // Transient: try again soon (first retry within a minute), then back off.
        throw new RetryLater(Math.min(backoffMs(job.attempt) * 30, 3600_000), `refund call failed: ${error.kind}`);
      }
      throw error;
    }
  });

  worker.register('refund.poll', async (payload) => {
    const refundId = String(payload.refundId);
    const n = Number(payload.n ?? 0);
    const refund = await findRefund(ctx.store.db, refundId);
    if (!refund || refund.status !== 'processing') return;
    const channel = router.channel(refund.provider);
    if (!channel) return;
    const status = await channel.queryRefund(refundId);
    if (status.status === 'succeeded') {
      await completeRefund(ctx, refundId, status.channelRefundId);
    } else if (status.status === 'failed') {
      await fallBackToBalance(ctx, refundId, status.reason ?? 'refused by the channel');
    } else if (status.status === 'not_found') {
      // The channel lost it: send it again under the same refund id (idempotent at the channel).
      await ctx.store.db.updateTable('refunds').set({ channel_refund_id: null }).where('id', '=', refundId).execute();
      await enqueueJob(ctx.store.db, { type: 'refund.payout', payload: { refundId }, maxAttempts: 30 }, ctx.clock.now());
    } else {
      await schedulePoll(ctx, refundId, n + 1);
    }
  });
}
