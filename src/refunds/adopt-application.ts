import type { Context } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { enqueueJob } from '../jobs/job-queue.js';
import { accounts } from '../ledger/accounts.js';
import { postTransaction, transfer } from '../ledger/post-transaction.js';
import type { Trx } from '../store/database.js';
import { OPEN_STATUSES } from './customer-actions.js';
import { addRefundEvent } from './refund.repo.js';

/**
 * Money the channel collected and we did not credit, while the customer has an open
 * application about exactly that: the application itself becomes the refund, approved by
 * the system (no second, automatic refund). Returns the refund id, or null when there is no
 * such application.
 */
export async function adoptOpenApplication(
  ctx: Context,
  trx: Trx,
  input: { rechargeId: string; customerId: string; provider: string; channelTxnId: string; amount: number; at: Date },
): Promise<string | null> {
  const application = await trx
    .selectFrom('refunds')
    .select(['id', 'reason'])
    .where('recharge_id', '=', input.rechargeId)
    .where('origin', '=', 'application')
    .where('money_source', '=', 'collection')
    .where('status', 'in', [...OPEN_STATUSES])
    .executeTakeFirst();
  if (!application) return null;
  const at = input.at.toISOString();
  const adopted = await trx
    .updateTable('refunds')
    .set({
      status: 'approved',
      provider: input.provider,
      channel_txn_id: input.channelTxnId,
      amount: input.amount,
      destination: 'original',
      decided_at: at,
      decided_by: 'system',
      updated_at: at,
    })
    .where('id', '=', application.id)
    .where('status', 'in', [...OPEN_STATUSES])
    .executeTakeFirst();
  if (Number(adopted.numUpdatedRows) !== 1) return null;
  await addRefundEvent(trx, {
    refundId: application.id,
    status: 'approved',
    actor: 'system',
    note: 'The channel confirmed it collected this payment without it reaching your balance; refunding automatically to the original payment method',
    at: input.at,
  });
  await postTransaction(trx, {
    kind: 'refund.detected',
    ref: application.id,
    actor: 'system',
    customerId: input.customerId,
    memo: application.reason,
    at: input.at,
    legs: transfer(accounts.channelClearing(input.provider), accounts.refundsInFlight(), input.amount),
  });
  await emitEvent(trx, {
    customerId: input.customerId,
    type: 'refund.approved',
    subjectId: application.id,
    data: { refund_id: application.id, recharge_id: input.rechargeId, amount: input.amount, reason: application.reason, automatic: true },
    at: input.at,
  });
  await enqueueJob(
    trx,
    { type: 'refund.payout', payload: { refundId: application.id }, dedupeKey: `payout:${application.id}`, maxAttempts: 30 },
    input.at,
  );
  ctx.metrics.refunds.inc({ reason: application.reason, status: 'approved' });
  return application.id;
}
