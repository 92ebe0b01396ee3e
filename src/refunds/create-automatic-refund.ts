import type { Context } from '../context.js';
import { newId } from '../domain/ids.js';
import { emitEvent } from '../events/emit-event.js';
import { enqueueJob } from '../jobs/job-queue.js';
import { accounts } from '../ledger/accounts.js';
import { postTransaction, transfer } from '../ledger/post-transaction.js';
import type { Trx } from '../store/database.js';
import { addRefundEvent } from './refund.repo.js';

/**
 * Money the channel collected that never became balance (a duplicate charge, a payment on a
 * failed or closed order) goes back without anyone asking (design principle 4): a refund
 * that starts `approved` with the system as actor, `channel:clearing → refunds:in_flight`
 * at detection, and a payout job — all in the caller's transaction.
 */
export async function createAutomaticRefund(
  ctx: Context,
  trx: Trx,
  input: {
    customerId: string;
    rechargeId: string;
    provider: string;
    channelTxnId: string;
    amount: number;
    reason: 'duplicate_charge' | 'charged_but_failed';
    at: Date;
  },
): Promise<string> {
  const id = newId('rfd', input.at.getTime());
  const at = input.at.toISOString();
  await trx
    .insertInto('refunds')
    .values({
      id,
      customer_id: input.customerId,
      recharge_id: input.rechargeId,
      provider: input.provider,
      channel_txn_id: input.channelTxnId,
      amount: input.amount,
      currency: 'CNY',
      reason: input.reason,
      status: 'approved',
      destination: 'original',
      origin: 'automatic',
      description: null,
      channel_refund_id: null,
      failure_reason: null,
      fallback: null,
      request_key: null,
      created_at: at,
      updated_at: at,
      succeeded_at: null,
      money_source: 'collection',
      assignee_id: null,
      escalation_level: 1,
      sla_due_at: null,
      sla_breached: 0,
      checks: null,
      paid_at: null,
      channel_txn_no: null,
      decided_at: at,
      decided_by: 'system',
      rejection_reason: null,
    })
    .execute();
  const note =
    input.reason === 'duplicate_charge'
      ? 'Duplicate charge detected by the system; refunding to the original payment method'
      : 'Payment arrived after the order had failed; refunding to the original payment method';
  await addRefundEvent(trx, { refundId: id, status: 'approved', actor: 'system', note, at: input.at });
  await postTransaction(trx, {
    kind: 'refund.detected',
    ref: id,
    actor: 'system',
    customerId: input.customerId,
    memo: input.reason,
    at: input.at,
    legs: transfer(accounts.channelClearing(input.provider), accounts.refundsInFlight(), input.amount),
  });
  await emitEvent(trx, {
    customerId: input.customerId,
    type: 'refund.approved',
    subjectId: id,
    data: { refund_id: id, recharge_id: input.rechargeId, amount: input.amount, reason: input.reason, automatic: true },
    at: input.at,
  });
  await enqueueJob(trx, { type: 'refund.payout', payload: { refundId: id }, dedupeKey: `payout:${id}`, maxAttempts: 30 }, input.at);
  ctx.metrics.ledgerTransactions.inc({ kind: 'refund.detected' });
  return id;
}
