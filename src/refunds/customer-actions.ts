import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { Executor } from '../store/database.js';
import type { RefundsTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { addRefundEvent } from './refund.repo.js';

export const OPEN_STATUSES = ['submitted', 'under_review', 'info_requested'] as const;

/** An application reached an end: another one may be opened for the same recharge. */
export async function releaseApplicationLock(trx: Executor, refundId: string): Promise<void> {
  await trx.deleteFrom('refund_application_locks').where('refund_id', '=', refundId).execute();
}

async function ownRefund(trx: Executor, customerId: string, refundId: string): Promise<RefundsTable> {
  const refund = await trx
    .selectFrom('refunds')
    .selectAll()
    .where('id', '=', refundId)
    .where('customer_id', '=', customerId)
    .executeTakeFirst();
  if (!refund) throw new AppError('NOT_FOUND', 'no such refund');
  return refund;
}

/** The customer answers an information request: back to `under_review`, with any new evidence attached. */
export async function replyToRefund(
  ctx: Context,
  input: { customerId: string; refundId: string; message: string; evidenceIds: string[] },
): Promise<void> {
  const now = ctx.clock.now();
  await inTransaction(ctx.store, async (trx) => {
    await ownRefund(trx, input.customerId, input.refundId);
    const evidenceIds = [...new Set(input.evidenceIds)];
    if (evidenceIds.length > 0) {
      const attached = await trx
        .updateTable('evidence')
        .set({ refund_id: input.refundId })
        .where('id', 'in', evidenceIds)
        .where('customer_id', '=', input.customerId)
        .where((eb) => eb.or([eb('refund_id', 'is', null), eb('refund_id', '=', input.refundId)]))
        .executeTakeFirst();
      if (Number(attached.numUpdatedRows) !== evidenceIds.length) throw new AppError('NOT_FOUND', 'no such evidence');
    }
    const moved = await trx
      .updateTable('refunds')
      .set({ status: 'under_review', updated_at: now.toISOString() })
      .where('id', '=', input.refundId)
      .where('status', '=', 'info_requested')
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) throw new AppError('INVALID_STATE', 'replies answer an information request');
    await addRefundEvent(trx, {
      refundId: input.refundId,
      status: 'under_review',
      actor: `user:${input.customerId}`,
      note: input.message,
      at: now,
    });
  });
}

/** The customer withdraws an application before it is decided. */
export async function cancelRefund(ctx: Context, input: { customerId: string; refundId: string }): Promise<void> {
  const now = ctx.clock.now();
  await inTransaction(ctx.store, async (trx) => {
    await ownRefund(trx, input.customerId, input.refundId);
    const moved = await trx
      .updateTable('refunds')
      .set({ status: 'cancelled', updated_at: now.toISOString() })
      .where('id', '=', input.refundId)
      .where('status', 'in', [...OPEN_STATUSES])
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) throw new AppError('INVALID_STATE', 'only an application not yet decided can be cancelled');
    await releaseApplicationLock(trx, input.refundId);
    await addRefundEvent(trx, {
      refundId: input.refundId,
      status: 'cancelled',
      actor: `user:${input.customerId}`,
      note: 'Cancelled by the customer',
      at: now,
    });
  });
}

/** The system closes an application that no longer needs a refund (the money was credited after all). */
export async function cancelBySystem(ctx: Context, refundId: string, note: string): Promise<boolean> {
  const now = ctx.clock.now();
  return inTransaction(ctx.store, async (trx) => {
    const moved = await trx
      .updateTable('refunds')
      .set({ status: 'cancelled', updated_at: now.toISOString(), decided_at: now.toISOString(), decided_by: 'system' })
      .where('id', '=', refundId)
      .where('status', 'in', [...OPEN_STATUSES])
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) return false;
    await releaseApplicationLock(trx, refundId);
    await addRefundEvent(trx, { refundId, status: 'cancelled', actor: 'system', note, at: now });
    return true;
  });
}
