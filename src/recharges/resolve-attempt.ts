import { recordAudit } from '../audit/record-audit.js';
import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import { enqueueJob } from '../jobs/job-queue.js';
import type { Worker } from '../jobs/worker.js';
import { inTransaction } from '../store/transaction.js';
import { failAttempt } from './fail-recharge.js';
import { recordCollection } from './record-collection.js';

/** After the first query at +10 s: 1 min, 5 min, 30 min, then hourly until 24 h, then finance looks. */
const RESOLVE_DELAYS_S = [60, 300, 1800];
const HOURLY_S = 3600;
const GIVE_UP_AFTER_MS = 24 * 3600_000;

/**
 * The unknown-outcome resolver: asks the channel what happened to an attempt whose answer we
 * did not get (timeout, crash, asynchronous payment), until the outcome is known. Nothing is
 * guessed: only the channel's own answer moves the order.
 */
export async function resolveAttempt(ctx: Context, router: ChannelRouter, attemptId: string, n: number): Promise<void> {
  const db = ctx.store.db;
  const attempt = await db.selectFrom('recharge_attempts').selectAll().where('id', '=', attemptId).executeTakeFirst();
  if (!attempt || attempt.status === 'failed') return;
  if (attempt.status === 'succeeded') {
    // Settled already — but one look at what the channel collected catches a duplicate charge
    // whose notification never came (it becomes an automatic refund).
    if (n === 0) await recordAllCollections(ctx, router, attempt.provider, attempt.id);
    return;
  }
  const recharge = await db.selectFrom('recharges').selectAll().where('id', '=', attempt.recharge_id).executeTakeFirstOrThrow();
  const channel = router.channel(attempt.provider);
  if (!channel) return;

  let status = await channel.query(attempt.id);
  ctx.metrics.channelCalls.inc({ provider: attempt.provider, operation: 'query', outcome: status.status });
  // Not seen by the channel — or not yet: our pay call may still be on its way (a slow call, a
  // busy process). Close the order at the channel first so that call can no longer collect;
  // then "closed" is final.
  const closing = status.status === 'not_found' && channel.close !== undefined;
  if (closing && channel.close) {
    status = await channel.close(attempt.id);
    ctx.metrics.channelCalls.inc({ provider: attempt.provider, operation: 'close', outcome: status.status });
  }
  for (const collection of status.collections) {
    await recordCollection(ctx, {
      provider: attempt.provider,
      attemptId: attempt.id,
      channelTxnId: collection.channelTxnId,
      amount: collection.amount,
      paidAt: collection.paidAt,
      credentialToken: status.credentialToken,
    });
  }
  if (status.status === 'paid') return;

  const now = ctx.clock.now();
  if (status.status === 'closed') {
    // The channel says it never collected: nothing was charged.
    await failAttempt(ctx, {
      attemptId,
      code: 'CHANNEL_TIMEOUT',
      retryable: true,
      channelMessage: closing ? 'channel has no record of the payment (closed)' : 'channel closed the payment unpaid',
      orderStatus: attempt.status === 'processing' && !closing ? 'closed' : 'failed',
    });
    return;
  }
  // Unpaid and still open at the channel — or not seen by a channel that cannot close orders:
  // only past the order's expiry, long after any call ended, does "not found" mean nothing was charged.
  if (now.toISOString() >= recharge.expires_at) {
    await failAttempt(ctx, {
      attemptId,
      code: 'CHANNEL_TIMEOUT',
      retryable: true,
      channelMessage: status.status === 'not_found' ? 'order expired; the channel has no record of the payment' : 'order expired unpaid',
      orderStatus: 'closed',
    });
    return;
  }
  await scheduleNext(ctx, attempt.id, attempt.created_at, n, recharge.id);
}

async function recordAllCollections(ctx: Context, router: ChannelRouter, provider: string, attemptId: string): Promise<void> {
  const channel = router.channel(provider);
  if (!channel) return;
  const status = await channel.query(attemptId);
  for (const collection of status.collections) {
    await recordCollection(ctx, {
      provider,
      attemptId,
      channelTxnId: collection.channelTxnId,
      amount: collection.amount,
      paidAt: collection.paidAt,
      credentialToken: status.credentialToken,
    });
  }
}

async function scheduleNext(ctx: Context, attemptId: string, createdAt: string, n: number, rechargeId: string): Promise<void> {
  const now = ctx.clock.now();
  if (now.getTime() - new Date(createdAt).getTime() >= GIVE_UP_AFTER_MS) {
    await inTransaction(ctx.store, async (trx) => {
      await trx
        .updateTable('recharge_attempts')
        .set({ needs_review: 1, updated_at: now.toISOString() })
        .where('id', '=', attemptId)
        .execute();
      await recordAudit(trx, {
        actor: 'system',
        action: 'recharge.needs_review',
        targetType: 'recharge',
        targetId: rechargeId,
        data: { attempt_id: attemptId, reason: 'outcome still unknown after 24 h of status queries' },
        at: now,
      });
    });
    ctx.log.error({ attemptId, rechargeId }, 'payment outcome unknown after 24 h: flagged for finance');
    return;
  }
  const delay = RESOLVE_DELAYS_S[n] ?? HOURLY_S;
  await enqueueJob(
    ctx.store.db,
    {
      type: 'recharge.resolve',
      payload: { attemptId, n: n + 1 },
      runAt: new Date(now.getTime() + delay * 1000),
      dedupeKey: `resolve:${attemptId}:${n + 1}`,
    },
    now,
  );
}

export function registerResolverJobs(ctx: Context, worker: Worker, router: ChannelRouter): void {
  worker.register('recharge.resolve', async (payload) => {
    await resolveAttempt(ctx, router, String(payload.attemptId), Number(payload.n ?? 0));
  });
}
