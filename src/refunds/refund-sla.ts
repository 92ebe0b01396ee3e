import { sql } from 'kysely';
import { recordAudit } from '../audit/record-audit.js';
import { grantCompensation } from '../compensations/grant-compensation.js';
import type { Context } from '../context.js';
import type { Worker } from '../jobs/worker.js';
import { inTransaction } from '../store/transaction.js';
import { OPEN_STATUSES } from './customer-actions.js';
import { addRefundEvent } from './refund.repo.js';

/**
 * Refund SLA: a decision is due `TOPUP_REFUND_SLA_HOURS` after submission. Two hours before,
 * a warning (audit + metric) for whoever holds it; at the due time an undecided application is
 * escalated to supervisors, the customer sees why in the timeline, and — when the policy is
 * on — a fixed compensation is credited for the platform's delay.
 */
export function registerRefundSlaJobs(ctx: Context, worker: Worker): void {
  worker.register('refund.sla_warning', async (payload) => {
    const refundId = String(payload.refundId);
    const refund = await ctx.store.db
      .selectFrom('refunds')
      .select(['status', 'assignee_id', 'sla_due_at'])
      .where('id', '=', refundId)
      .executeTakeFirst();
    if (!refund || !(OPEN_STATUSES as readonly string[]).includes(refund.status)) return;
    await recordAudit(ctx.store.db, {
      actor: 'system',
      action: 'refund.sla_warning',
      targetType: 'refund',
      targetId: refundId,
      data: { due: refund.sla_due_at, assignee: refund.assignee_id },
      at: ctx.clock.now(),
    });
    ctx.metrics.slaEvents.inc({ kind: 'warning' });
  });

  worker.register('refund.sla_breach', async (payload) => {
    const refundId = String(payload.refundId);
    const now = ctx.clock.now();
    const breached = await inTransaction(ctx.store, async (trx) => {
      const row = await trx
        .updateTable('refunds')
        .set({
          sla_breached: 1,
          escalation_level: sql<number>`case when escalation_level < 2 then 2 else escalation_level end`,
          updated_at: now.toISOString(),
        })
        .where('id', '=', refundId)
        .where('status', 'in', [...OPEN_STATUSES])
        .where('sla_breached', '=', 0)
        .returningAll()
        .executeTakeFirst();
      if (!row) return null;
      await addRefundEvent(trx, {
        refundId,
        status: row.status as 'submitted',
        actor: 'system',
        note: 'The review is taking longer than we promised; your application was escalated to a supervisor',
        at: now,
      });
      await recordAudit(trx, {
        actor: 'system',
        action: 'refund.sla_breached',
        targetType: 'refund',
        targetId: refundId,
        data: { due: row.sla_due_at },
        at: now,
      });
      return row;
    });
    if (!breached) return;
    ctx.metrics.slaEvents.inc({ kind: 'breach' });
    if (ctx.config.slaBreachCompensation > 0) {
      await grantCompensation(ctx, {
        userId: breached.customer_id,
        amount: ctx.config.slaBreachCompensation,
        reason: 'refund review exceeded its promised time',
        refundId,
        actor: 'system',
        actorRole: 'system',
        requestKey: `sla-breach:${refundId}`,
      });
    }
  });
}
