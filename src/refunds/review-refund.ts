import { recordAudit } from '../audit/record-audit.js';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import { emitEvent } from '../events/emit-event.js';
import { type Actor, actorRef, hasRole } from '../identity/roles.js';
import { enqueueJob } from '../jobs/job-queue.js';
import { accounts } from '../ledger/accounts.js';
import { postTransaction, transfer } from '../ledger/post-transaction.js';
import type { Trx } from '../store/database.js';
import type { RefundsTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { refundableFromBalance } from './apply-for-refund.js';
import { OPEN_STATUSES, releaseApplicationLock } from './customer-actions.js';
import { addRefundEvent } from './refund.repo.js';

/**
 * Customer-service decisions on refund applications. Every decision is one guarded UPDATE on
 * the current status (`WHERE status IN (…)`), so two agents acting at once cannot both win;
 * the loser gets INVALID_STATE. Each action lands in the timeline and the audit log in the
 * same transaction.
 */

async function load(trx: Trx, refundId: string): Promise<RefundsTable> {
  const refund = await trx.selectFrom('refunds').selectAll().where('id', '=', refundId).executeTakeFirst();
  if (!refund || refund.origin !== 'application') throw new AppError('NOT_FOUND', 'no such refund application');
  return refund;
}

function isSupervisor(actor: Actor): boolean {
  return hasRole(actor.role, ['cs_supervisor']);
}

/** Escalated applications, and amounts above the agent cap, need a supervisor. */
function assertMayDecide(ctx: Context, actor: Actor, refund: RefundsTable): void {
  if (isSupervisor(actor)) return;
  if (refund.escalation_level >= 2) throw new AppError('FORBIDDEN', 'this application was escalated; a supervisor decides it');
  if (Number(refund.amount) > ctx.config.agentApprovalCap) {
    throw new AppError('FORBIDDEN', `refunds above ${ctx.config.agentApprovalCap} fen need a supervisor's approval`);
  }
}

async function transition(
  trx: Trx,
  refundId: string,
  from: readonly string[],
  changes: Partial<RefundsTable>,
  now: Date,
): Promise<RefundsTable> {
  const row = await trx
    .updateTable('refunds')
    .set({ ...changes, updated_at: now.toISOString() })
    .where('id', '=', refundId)
    .where('status', 'in', [...from])
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new AppError('INVALID_STATE', `the application is no longer ${from.join(' or ')}`);
  return row;
}

async function audit(trx: Trx, actor: Actor, action: string, refundId: string, data: Record<string, unknown>, at: Date): Promise<void> {
  await recordAudit(trx, { actor: actorRef(actor), action, targetType: 'refund', targetId: refundId, data, at });
}

/** Claim: `submitted → under_review`, assigned to the claiming agent. */
export async function claimRefund(ctx: Context, actor: Actor, refundId: string): Promise<void> {
  const now = ctx.clock.now();
  await inTransaction(ctx.store, async (trx) => {
    await load(trx, refundId);
    await transition(trx, refundId, ['submitted'], { status: 'under_review', assignee_id: actor.id }, now);
    await addRefundEvent(trx, {
      refundId,
      status: 'under_review',
      actor: actorRef(actor),
      note: 'Customer service is reviewing your application',
      at: now,
    });
    await audit(trx, actor, 'refund.claimed', refundId, {}, now);
  });
}

/** Ask the customer for more information (evidence, serial number…): `→ info_requested`. */
export async function requestInfo(ctx: Context, actor: Actor, refundId: string, message: string): Promise<void> {
  const now = ctx.clock.now();
  await inTransaction(ctx.store, async (trx) => {
    await load(trx, refundId);
    const row = await transition(trx, refundId, ['submitted', 'under_review'], { status: 'info_requested', assignee_id: actor.id }, now);
    await addRefundEvent(trx, { refundId, status: 'info_requested', actor: actorRef(actor), note: message, at: now });
    await audit(trx, actor, 'refund.info_requested', refundId, { message }, now);
    await emitEvent(trx, {
      customerId: row.customer_id,
      type: 'refund.info_requested',
      subjectId: refundId,
      data: { refund_id: refundId, recharge_id: row.recharge_id, amount: Number(row.amount), message },
      at: now,
    });
  });
}

/**
 * Approve. Unused balance goes back to the original route: the amount is moved to `held` at
 * approval (so it cannot be spent twice) and paid out by the payout job. Money the channel
 * collected but never credited is only ever returned by the system's own check (fast path),
 * which proves it exists; staff cannot pay out money the channel says it does not hold.
 */
export async function approveRefund(
  ctx: Context,
  actor: Actor,
  refundId: string,
  input: { destination?: 'original' | 'balance'; note?: string | null },
): Promise<void> {
  const now = ctx.clock.now();
  const destination = input.destination ?? 'original';
  const started = await inTransaction(ctx.store, async (trx) => {
    const refund = await load(trx, refundId);
    assertMayDecide(ctx, actor, refund);
    if (!['submitted', 'under_review'].includes(refund.status)) {
      throw new AppError('INVALID_STATE', `an application that is ${refund.status} cannot be approved`);
    }
    if (refund.money_source === 'collection') {
      throw new AppError(
        'REFUND_NOT_ALLOWED',
        'the channel reports no collected money for this recharge that was not already credited or refunded; if the platform is at fault, grant a compensation instead',
      );
    }
    if (destination === 'balance') {
      throw new AppError('REFUND_NOT_ALLOWED', 'unused balance is already on the balance; refund it to the original payment method');
    }
    const recharge = await trx.selectFrom('recharges').select(['amount']).where('id', '=', refund.recharge_id).executeTakeFirstOrThrow();
    const refundable = await refundableFromBalance(trx, refund.recharge_id, Number(recharge.amount), refundId);
    if (Number(refund.amount) > refundable)
      throw new AppError('REFUND_NOT_ALLOWED', `only ${refundable} fen of this recharge is still refundable`);
    const row = await transition(
      trx,
      refundId,
      ['submitted', 'under_review'],
      { status: 'approved', destination, decided_at: now.toISOString(), decided_by: actor.id, assignee_id: refund.assignee_id ?? actor.id },
      now,
    );
    // Guarded debit: a balance spent since the application cannot be refunded (INSUFFICIENT_BALANCE).
    await postTransaction(trx, {
      kind: 'refund.held',
      ref: refundId,
      actor: actorRef(actor),
      customerId: row.customer_id,
      memo: input.note ?? null,
      at: now,
      legs: transfer(accounts.customerBalance(row.customer_id), accounts.customerHeld(row.customer_id), Number(row.amount)),
    });
    await addRefundEvent(trx, {
      refundId,
      status: 'approved',
      actor: actorRef(actor),
      note: input.note ?? 'Approved; the refund is being sent to your original payment method',
      at: now,
    });
    await audit(trx, actor, 'refund.approved', refundId, { destination, amount: Number(row.amount), note: input.note ?? null }, now);
    await emitEvent(trx, {
      customerId: row.customer_id,
      type: 'refund.approved',
      subjectId: refundId,
      data: { refund_id: refundId, recharge_id: row.recharge_id, amount: Number(row.amount), destination },
      at: now,
    });
    await enqueueJob(trx, { type: 'refund.payout', payload: { refundId }, dedupeKey: `payout:${refundId}`, maxAttempts: 30 }, now);
    return row;
  });
  ctx.metrics.refunds.inc({ reason: started.reason, status: 'approved' });
  ctx.metrics.refundDecisionSeconds.observe((now.getTime() - Date.parse(started.created_at)) / 1000);
}

export async function rejectRefund(ctx: Context, actor: Actor, refundId: string, reason: string): Promise<void> {
  const now = ctx.clock.now();
  const row = await inTransaction(ctx.store, async (trx) => {
    const refund = await load(trx, refundId);
    assertMayDecide(ctx, actor, refund);
    const row = await transition(
      trx,
      refundId,
      OPEN_STATUSES,
      { status: 'rejected', rejection_reason: reason, decided_at: now.toISOString(), decided_by: actor.id },
      now,
    );
    await releaseApplicationLock(trx, refundId);
    await addRefundEvent(trx, { refundId, status: 'rejected', actor: actorRef(actor), note: reason, at: now });
    await audit(trx, actor, 'refund.rejected', refundId, { reason }, now);
    await emitEvent(trx, {
      customerId: row.customer_id,
      type: 'refund.rejected',
      subjectId: refundId,
      data: { refund_id: refundId, recharge_id: row.recharge_id, amount: Number(row.amount), reason },
      at: now,
    });
    return row;
  });
  ctx.metrics.refunds.inc({ reason: row.reason, status: 'rejected' });
  ctx.metrics.refundDecisionSeconds.observe((now.getTime() - Date.parse(row.created_at)) / 1000);
}

/** Hand the application up a level (1 agent → 2 supervisor → 3 management). */
export async function escalateRefund(ctx: Context, actor: Actor, refundId: string, note: string, by = 'staff'): Promise<void> {
  const now = ctx.clock.now();
  await inTransaction(ctx.store, async (trx) => {
    const refund = await load(trx, refundId);
    if (!(OPEN_STATUSES as readonly string[]).includes(refund.status))
      throw new AppError('INVALID_STATE', 'only an open application can be escalated');
    const level = Math.min(3, refund.escalation_level + 1);
    await trx.updateTable('refunds').set({ escalation_level: level, updated_at: now.toISOString() }).where('id', '=', refundId).execute();
    await addRefundEvent(trx, {
      refundId,
      status: refund.status as 'submitted',
      actor: actorRef(actor),
      note: `Escalated to ${level === 2 ? 'a supervisor' : 'management'}: ${note}`,
      at: now,
    });
    await audit(trx, actor, 'refund.escalated', refundId, { level, note, by }, now);
  });
}
