import type { Context } from '../context.js';
import { emitEvent } from '../events/emit-event.js';
import { accounts } from '../ledger/accounts.js';
import { postTransaction, transfer } from '../ledger/post-transaction.js';
import { adoptOpenApplication } from '../refunds/adopt-application.js';
import { createAutomaticRefund } from '../refunds/create-automatic-refund.js';
import type { Trx } from '../store/database.js';
import { reusableInsert, reusableQuery } from '../store/reusable-query.js';
import type { RechargeAttemptsTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { findRecharge } from './recharge.repo.js';

export interface Collection {
  provider: string;
  attemptId: string;
  channelTxnId: string;
  amount: number;
  paidAt: Date;
  credentialToken?: string | null;
}

export type CollectionOutcome = 'credited' | 'refund' | 'duplicate_notice' | 'unknown_attempt';

/**
 * The channel collected money for one of our attempts. Whether it came from the synchronous
 * answer, a notification or a status query, it lands here, and each channel transaction id is
 * handled exactly once (primary key on provider + channel txn id):
 * - the order is still pending → it succeeds and the money is credited to the balance;
 * - the order already succeeded (a second collection) → automatic refund, `duplicate_charge`;
 * - the order failed or closed (a late payment) → automatic refund, `charged_but_failed`.
 */
// One per collection: compiled once (see reusable-query.ts).
const selectAttempt = reusableQuery<RechargeAttemptsTable>(1, (db, value) =>
  db.selectFrom('recharge_attempts').selectAll().where('id', '=', value(0)),
);
const insertChannelTransactions = reusableInsert('channel_transactions', { onConflictDoNothing: ['provider', 'channel_txn_id'] });

export async function recordCollection(ctx: Context, collection: Collection): Promise<CollectionOutcome> {
  const now = ctx.clock.now();
  const result = await inTransaction(ctx.store, (trx) => recordCollectionIn(ctx, trx, collection, now));
  if (result.outcome === 'credited') {
    ctx.metrics.recharges.inc({ method: result.method, provider: collection.provider, status: 'succeeded', failure_code: '' });
    ctx.metrics.ledgerTransactions.inc({ kind: 'recharge' });
  }
  return result.outcome;
}

async function recordCollectionIn(
  ctx: Context,
  trx: Trx,
  c: Collection,
  now: Date,
): Promise<{ outcome: CollectionOutcome; method: string }> {
  const attempt = (await selectAttempt(trx, [c.attemptId])).rows[0];
  if (!attempt || attempt.provider !== c.provider) {
    ctx.log.error({ provider: c.provider, attemptId: c.attemptId, channelTxnId: c.channelTxnId }, 'collection for an unknown attempt');
    return { outcome: 'unknown_attempt', method: '' };
  }
  const claimed = await insertChannelTransactions(trx, [
    {
      provider: c.provider,
      channel_txn_id: c.channelTxnId,
      attempt_id: attempt.id,
      recharge_id: attempt.recharge_id,
      customer_id: attempt.customer_id,
      amount: c.amount,
      disposition: 'pending',
      refund_id: null,
      paid_at: c.paidAt.toISOString(),
      created_at: now.toISOString(),
    },
  ]);
  if (Number(claimed.numAffectedRows ?? 0) !== 1) return { outcome: 'duplicate_notice', method: '' };

  const nowIso = now.toISOString();
  const recharge = await findRecharge(trx, attempt.recharge_id);
  if (!recharge) throw new Error(`attempt ${attempt.id} belongs to no recharge`);
  const credited =
    c.amount === Number(recharge.amount)
      ? await trx
          .updateTable('recharges')
          .set({
            status: 'succeeded',
            provider: c.provider,
            succeeded_at: nowIso,
            updated_at: nowIso,
            failure_code: null,
            failure_retryable: null,
            channel_message: null,
            credential_token: c.credentialToken ?? recharge.credential_token,
          })
          .where('id', '=', recharge.id)
          .where('status', '=', 'pending')
          .executeTakeFirst()
      : null;

  if (credited && Number(credited.numUpdatedRows) === 1) {
    await trx
      .updateTable('recharge_attempts')
      .set({ status: 'succeeded', channel_txn_id: c.channelTxnId, resolved_at: nowIso, updated_at: nowIso, failure_code: null })
      .where('id', '=', attempt.id)
      .execute();
    await postTransaction(trx, {
      kind: 'recharge',
      ref: recharge.id,
      actor: 'system',
      customerId: recharge.customer_id,
      memo: `${c.provider} ${c.channelTxnId}`,
      at: now,
      legs: transfer(accounts.channelClearing(c.provider), accounts.customerBalance(recharge.customer_id), c.amount),
    });
    await trx
      .updateTable('channel_transactions')
      .set({ disposition: 'credited' })
      .where('provider', '=', c.provider)
      .where('channel_txn_id', '=', c.channelTxnId)
      .execute();
    await emitEvent(trx, {
      customerId: recharge.customer_id,
      type: 'recharge.succeeded',
      subjectId: recharge.id,
      data: { recharge_id: recharge.id, amount: c.amount, method: recharge.method, provider: c.provider },
      at: now,
    });
    // Only an automatic recharge holds the customer's auto-recharge marker.
    if (recharge.is_auto) await releaseAutoRechargeMarker(trx, recharge.customer_id, recharge.id);
    return { outcome: 'credited', method: recharge.method };
  }

  // Money that did not become balance: give it back.
  if (attempt.status === 'processing' || attempt.status === 'unknown') {
    await trx
      .updateTable('recharge_attempts')
      .set({ channel_txn_id: attempt.channel_txn_id ?? c.channelTxnId, updated_at: nowIso })
      .where('id', '=', attempt.id)
      .execute();
  }
  const reason = recharge.status === 'succeeded' ? 'duplicate_charge' : 'charged_but_failed';
  const adopted = await adoptOpenApplication(ctx, trx, {
    rechargeId: recharge.id,
    customerId: recharge.customer_id,
    provider: c.provider,
    channelTxnId: c.channelTxnId,
    amount: c.amount,
    at: now,
  });
  const refundId =
    adopted ??
    (await createAutomaticRefund(ctx, trx, {
      customerId: recharge.customer_id,
      rechargeId: recharge.id,
      provider: c.provider,
      channelTxnId: c.channelTxnId,
      amount: c.amount,
      reason,
      at: now,
    }));
  await trx
    .updateTable('channel_transactions')
    .set({ disposition: 'refund', refund_id: refundId })
    .where('provider', '=', c.provider)
    .where('channel_txn_id', '=', c.channelTxnId)
    .execute();
  ctx.log.warn({ rechargeId: recharge.id, channelTxnId: c.channelTxnId, reason }, 'collected money refunded automatically');
  return { outcome: 'refund', method: recharge.method };
}

/** An auto-recharge's order reached a final status: the next one may start. */
export async function releaseAutoRechargeMarker(trx: Trx, customerId: string, rechargeId: string): Promise<void> {
  await trx
    .updateTable('balance_settings')
    .set({ auto_in_flight_recharge_id: null })
    .where('customer_id', '=', customerId)
    .where('auto_in_flight_recharge_id', '=', rechargeId)
    .execute();
}
