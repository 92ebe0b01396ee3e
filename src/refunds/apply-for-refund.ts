import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { emitEvent } from '../events/emit-event.js';
import { findUserById } from '../identity/users.repo.js';
import { enqueueJob } from '../jobs/job-queue.js';
import { readCustomerBalance } from '../ledger/customer-accounts.js';
import { recordCollection } from '../recharges/record-collection.js';
import type { Executor } from '../store/database.js';
import type { RefundsTable } from '../store/schema.js';
import { inTransaction, isUniqueViolation } from '../store/transaction.js';
import { askChannel, buildChecks } from './application-checks.js';
import { cancelBySystem } from './customer-actions.js';
import { addRefundEvent, type RefundReason } from './refund.repo.js';

/** Reasons about channel money that never became balance: the system can verify and return them itself. */
export const COLLECTION_REASONS: readonly RefundReason[] = ['not_credited', 'duplicate_charge', 'charged_but_failed'];
const WINDOW_DAYS = 365;
const SLA_WARNING_BEFORE_MS = 2 * 3600_000;

export interface RefundApplication {
  customerId: string;
  rechargeId: string;
  amount: number;
  reason: RefundReason;
  description: string | null;
  paidAt: string | null;
  channelTxnNo: string | null;
  evidenceIds: string[];
  requestKey: string | null;
}

function notAllowed(rule: string): AppError {
  return new AppError('REFUND_NOT_ALLOWED', rule);
}

/** What may still be refunded of a recharge's credited amount: amount − applications approved, paying or paid. */
export async function refundableFromBalance(
  db: Executor,
  rechargeId: string,
  rechargeAmount: number,
  excludeRefundId?: string,
): Promise<number> {
  let query = db
    .selectFrom('refunds')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), eb.lit(0)).as('total'))
    .where('recharge_id', '=', rechargeId)
    .where('money_source', '=', 'balance')
    .where('status', 'in', ['approved', 'processing', 'succeeded']);
  if (excludeRefundId) query = query.where('id', '<>', excludeRefundId);
  const row = await query.executeTakeFirst();
  return rechargeAmount - Number(row?.total ?? 0);
}

async function findByRequestKey(db: Executor, customerId: string, key: string): Promise<RefundsTable | undefined> {
  return db.selectFrom('refunds').selectAll().where('customer_id', '=', customerId).where('request_key', '=', key).executeTakeFirst();
}

/**
 * A customer applies for a refund of a recharge (the seed's flow: reason, time and amount,
 * evidence). Eligibility is checked against the rules below and enforced in the write (one
 * open application per recharge is a primary key); the system's own checks are recorded for
 * staff. For money the channel collected that never became balance, the fast path asks the
 * channel at once and returns it without waiting for staff.
 */
export async function applyForRefund(ctx: Context, router: ChannelRouter, input: RefundApplication): Promise<RefundsTable> {
  const db = ctx.store.db;
  if (input.requestKey) {
    const existing = await findByRequestKey(db, input.customerId, input.requestKey);
    if (existing) return existing;
  }
  const recharge = await db
    .selectFrom('recharges')
    .selectAll()
    .where('id', '=', input.rechargeId)
    .where('customer_id', '=', input.customerId)
    .executeTakeFirst();
  if (!recharge) throw new AppError('NOT_FOUND', 'no such recharge');
  const evidenceIds = [...new Set(input.evidenceIds)];
  if (evidenceIds.length > 0) {
    const owned = await db
      .selectFrom('evidence')
      .select(['id', 'refund_id'])
      .where('id', 'in', evidenceIds)
      .where('customer_id', '=', input.customerId)
      .execute();
    if (owned.length !== evidenceIds.length) throw new AppError('NOT_FOUND', 'no such evidence');
    if (owned.some((e) => e.refund_id !== null)) {
      throw new AppError('VALIDATION_FAILED', 'evidence is already attached to another refund', {
        errors: [{ field: 'evidence_ids', message: 'already attached to another refund' }],
      });
    }
  }
  const customer = await findUserById(db, input.customerId);
  if (!customer) throw new AppError('NOT_FOUND', 'no such customer');
  const now = ctx.clock.now();

  // The rules, each refused with the rule named in `detail`.
  if (customer.status !== 'active') throw notAllowed('the account is not active; contact support through a ticket');
  if (now.getTime() - Date.parse(recharge.created_at) > WINDOW_DAYS * 86_400_000) {
    throw notAllowed(`refunds can be applied for within ${WINDOW_DAYS} days of the recharge`);
  }
  const isCollection = COLLECTION_REASONS.includes(input.reason);
  const fromBalance = !isCollection;
  let refundable: number;
  if (fromBalance) {
    if (recharge.status !== 'succeeded') throw notAllowed('only a credited (succeeded) recharge has balance to refund');
    refundable = await refundableFromBalance(db, recharge.id, Number(recharge.amount));
    const balance = await readCustomerBalance(db, input.customerId);
    if (input.amount > refundable) throw notAllowed(`the amount exceeds what is refundable for this recharge (${refundable} fen)`);
    if (input.amount > (balance?.available ?? 0)) {
      throw notAllowed(`the amount exceeds the available balance (${balance?.available ?? 0} fen); spent balance cannot be refunded`);
    }
  } else {
    refundable = Number(recharge.amount);
    if (input.amount > refundable) throw notAllowed(`the amount exceeds the recharge amount (${refundable} fen)`);
    if (!input.channelTxnNo && evidenceIds.length === 0) {
      throw notAllowed(`${input.reason} needs the payment's transaction serial number (channel_txn_no) or evidence`);
    }
    if (input.reason === 'not_credited' && recharge.status === 'succeeded') {
      throw notAllowed(`this recharge was credited to your balance at ${recharge.succeeded_at}`);
    }
    if (input.reason === 'charged_but_failed' && recharge.status === 'succeeded') {
      throw notAllowed('this recharge succeeded; apply with reason duplicate_charge or unused_balance');
    }
    const automatic = await db
      .selectFrom('refunds')
      .select(['id', 'status'])
      .where('recharge_id', '=', recharge.id)
      .where('origin', '=', 'automatic')
      .where('status', 'in', ['approved', 'processing', 'succeeded'])
      .executeTakeFirst();
    if (automatic) {
      throw notAllowed(`the extra payment is already being refunded automatically (${automatic.id}, ${automatic.status})`);
    }
  }

  // Ask the channel now (outside any transaction): it feeds the checks and the fast path.
  const findings = await askChannel(ctx, router, recharge.id);
  const checks = await buildChecks(ctx, { recharge, customer, amount: input.amount, refundable, findings });
  const credited = fromBalance
    ? await db
        .selectFrom('channel_transactions')
        .select(['provider', 'channel_txn_id'])
        .where('recharge_id', '=', recharge.id)
        .where('disposition', '=', 'credited')
        .executeTakeFirst()
    : undefined;

  const id = newId('rfd', now.getTime());
  const slaDue = new Date(now.getTime() + ctx.config.refundSlaHours * 3600_000);
  const row: RefundsTable = {
    id,
    customer_id: input.customerId,
    recharge_id: recharge.id,
    provider: credited?.provider ?? recharge.provider ?? '',
    channel_txn_id: credited?.channel_txn_id ?? null,
    amount: input.amount,
    currency: 'CNY',
    reason: input.reason,
    status: 'submitted',
    destination: 'original',
    origin: 'application',
    description: input.description,
    channel_refund_id: null,
    failure_reason: null,
    fallback: null,
    request_key: input.requestKey,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
    succeeded_at: null,
    money_source: fromBalance ? 'balance' : 'collection',
    assignee_id: null,
    escalation_level: 1,
    sla_due_at: slaDue.toISOString(),
    sla_breached: 0,
    checks: JSON.stringify(checks),
    paid_at: input.paidAt,
    channel_txn_no: input.channelTxnNo,
    decided_at: null,
    decided_by: null,
    rejection_reason: null,
  };
  try {
    await inTransaction(ctx.store, async (trx) => {
      await trx
        .insertInto('refund_application_locks')
        .values({ recharge_id: recharge.id, refund_id: id, created_at: row.created_at })
        .execute();
      await trx.insertInto('refunds').values(row).execute();
      if (evidenceIds.length > 0) {
        const attached = await trx
          .updateTable('evidence')
          .set({ refund_id: id })
          .where('id', 'in', evidenceIds)
          .where('customer_id', '=', input.customerId)
          .where('refund_id', 'is', null)
          .executeTakeFirst();
        if (Number(attached.numUpdatedRows) !== evidenceIds.length) {
          throw new AppError('VALIDATION_FAILED', 'evidence is already attached to another refund', {
            errors: [{ field: 'evidence_ids', message: 'already attached to another refund' }],
          });
        }
      }
      await addRefundEvent(trx, { refundId: id, status: 'submitted', actor: `user:${input.customerId}`, note: input.description, at: now });
      await emitEvent(trx, {
        customerId: input.customerId,
        type: 'refund.submitted',
        subjectId: id,
        data: { refund_id: id, recharge_id: recharge.id, amount: input.amount, reason: input.reason, sla_due_at: row.sla_due_at },
        at: now,
      });
      await enqueueJob(
        trx,
        {
          type: 'refund.sla_warning',
          payload: { refundId: id },
          runAt: new Date(slaDue.getTime() - SLA_WARNING_BEFORE_MS),
          dedupeKey: `sla-warn:${id}`,
        },
        now,
      );
      await enqueueJob(trx, { type: 'refund.sla_breach', payload: { refundId: id }, runAt: slaDue, dedupeKey: `sla-breach:${id}` }, now);
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      if (input.requestKey) {
        const existing = await findByRequestKey(db, input.customerId, input.requestKey);
        if (existing) return existing;
      }
      const open = await db
        .selectFrom('refund_application_locks')
        .select('refund_id')
        .where('recharge_id', '=', recharge.id)
        .executeTakeFirst();
      throw notAllowed(`an application for this recharge is already open (${open?.refund_id ?? 'unknown'}); one at a time`);
    }
    throw error;
  }
  ctx.metrics.refunds.inc({ reason: input.reason, status: 'submitted' });

  if (isCollection) {
    // Fast path (design principle 4): money the channel confirms it collected is recorded now;
    // recordCollection turns it into this application's approved refund, or credits a pending order.
    for (const c of findings.collections) await recordCollection(ctx, c);
    const after = await db.selectFrom('recharges').select(['status']).where('id', '=', recharge.id).executeTakeFirstOrThrow();
    const current = await db.selectFrom('refunds').select(['status']).where('id', '=', id).executeTakeFirstOrThrow();
    if (current.status === 'submitted' && input.reason === 'not_credited' && after.status === 'succeeded') {
      await cancelBySystem(
        ctx,
        id,
        'The channel confirmed your payment and the amount has now been credited to your balance; nothing needs refunding',
      );
    }
  }
  return db.selectFrom('refunds').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}
