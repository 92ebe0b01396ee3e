import type { Context } from '../context.js';
import type { ErrorCode } from '../domain/errors.js';
import { emitEvent } from '../events/emit-event.js';
import type { Trx } from '../store/database.js';
import { inTransaction } from '../store/transaction.js';
import { releaseAutoRechargeMarker } from './record-collection.js';

export interface AttemptFailure {
  attemptId: string;
  code: ErrorCode;
  retryable: boolean;
  channelMessage: string | null;
  /** `closed` when an unpaid order simply expired; `failed` otherwise. */
  orderStatus?: 'failed' | 'closed';
}

/**
 * Marks an attempt failed and, when no other attempt of the order is still live, the order
 * too: its daily-limit share is given back and the customer is told. Guarded on the current
 * status, so a late success that already moved the order wins and this becomes a no-op.
 */
export async function failAttemptIn(ctx: Context, trx: Trx, failure: AttemptFailure, now: Date): Promise<boolean> {
  const nowIso = now.toISOString();
  const attempt = await trx
    .updateTable('recharge_attempts')
    .set({ status: 'failed', failure_code: failure.code, channel_message: failure.channelMessage, resolved_at: nowIso, updated_at: nowIso })
    .where('id', '=', failure.attemptId)
    .where('status', 'in', ['processing', 'unknown'])
    .returningAll()
    .executeTakeFirst();
  if (!attempt) return false;
  const live = await trx
    .selectFrom('recharge_attempts')
    .select('id')
    .where('recharge_id', '=', attempt.recharge_id)
    .where('status', 'in', ['processing', 'unknown'])
    .executeTakeFirst();
  if (live) return false;
  const status = failure.orderStatus ?? 'failed';
  const order = await trx
    .updateTable('recharges')
    .set({
      status,
      failure_code: failure.code,
      failure_retryable: failure.retryable ? 1 : 0,
      channel_message: failure.channelMessage,
      provider: attempt.provider,
      updated_at: nowIso,
    })
    .where('id', '=', attempt.recharge_id)
    .where('status', '=', 'pending')
    .returningAll()
    .executeTakeFirst();
  if (!order) return false;
  await trx
    .updateTable('recharge_daily_totals')
    .set((eb) => ({ amount: eb('amount', '-', Number(order.amount)) }))
    .where('customer_id', '=', order.customer_id)
    .where('day', '=', order.day)
    .execute();
  await emitEvent(trx, {
    customerId: order.customer_id,
    type: 'recharge.failed',
    subjectId: order.id,
    data: { recharge_id: order.id, amount: Number(order.amount), method: order.method, code: failure.code, status },
    at: now,
  });
  if (order.is_auto === 1) {
    await emitEvent(trx, {
      customerId: order.customer_id,
      type: 'auto_recharge.failed',
      subjectId: order.id,
      data: { recharge_id: order.id, amount: Number(order.amount), code: failure.code },
      at: now,
    });
  }
  await releaseAutoRechargeMarker(trx, order.customer_id, order.id);
  ctx.metrics.recharges.inc({ method: order.method, provider: attempt.provider, status, failure_code: failure.code });
  return true;
}

export async function failAttempt(ctx: Context, failure: AttemptFailure): Promise<boolean> {
  const now = ctx.clock.now();
  return inTransaction(ctx.store, (trx) => failAttemptIn(ctx, trx, failure, now));
}
