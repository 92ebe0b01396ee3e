import { recordAudit } from '../audit/record-audit.js';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { formatFen } from '../domain/money.js';
import { findUserById } from '../identity/users.repo.js';
import { accounts } from '../ledger/accounts.js';
import { postTransaction, transfer } from '../ledger/post-transaction.js';
import { addRefundEvent } from '../refunds/refund.repo.js';
import type { Executor } from '../store/database.js';
import type { CompensationsTable } from '../store/schema.js';
import { inTransaction, isUniqueViolation } from '../store/transaction.js';

export interface CompensationView {
  id: string;
  user_id: string;
  amount: number;
  currency: 'CNY';
  reason: string;
  refund_id: string | null;
  actor: string;
  transaction_id: string;
  balance_after: number;
  created_at: string;
}

/** The most this actor may grant; null means no cap (admin, or the system's own policy). */
export function compensationCap(ctx: Context, actorRole: string): number | null {
  if (actorRole === 'admin' || actorRole === 'system') return null;
  if (actorRole === 'cs_supervisor') return ctx.config.supervisorCompensationCap;
  return ctx.config.agentCompensationCap;
}

async function findByKey(db: Executor, actor: string, key: string): Promise<CompensationsTable | undefined> {
  return db.selectFrom('compensations').selectAll().where('actor', '=', actor).where('request_key', '=', key).executeTakeFirst();
}

async function view(db: Executor, row: CompensationsTable): Promise<CompensationView> {
  const posting = await db
    .selectFrom('ledger_postings')
    .select('balance_after')
    .where('transaction_id', '=', row.transaction_id)
    .where('account_id', '=', accounts.customerBalance(row.customer_id).id)
    .executeTakeFirst();
  return {
    id: row.id,
    user_id: row.customer_id,
    amount: Number(row.amount),
    currency: 'CNY',
    reason: row.reason,
    refund_id: row.refund_id,
    actor: row.actor,
    transaction_id: row.transaction_id,
    balance_after: Number(posting?.balance_after ?? 0),
    created_at: row.created_at,
  };
}

/**
 * Compensation for a fault the platform caused (the seed: 补偿用户因故障造成的不便):
 * `platform:compensation → customer:balance`, capped per role, with a reason, optionally
 * linked to a refund, audited in the same transaction.
 */
export async function grantCompensation(
  ctx: Context,
  input: {
    userId: string;
    amount: number;
    reason: string;
    refundId: string | null;
    actor: string;
    actorRole: string;
    requestKey: string | null;
  },
): Promise<CompensationView> {
  const cap = compensationCap(ctx, input.actorRole);
  if (cap !== null && input.amount > cap) {
    throw new AppError('FORBIDDEN', `compensation above ${cap} fen needs a ${input.actorRole === 'cs_agent' ? 'supervisor' : 'an admin'}`);
  }
  const now = ctx.clock.now();
  try {
    return await inTransaction(ctx.store, async (trx) => {
      if (input.requestKey) {
        const existing = await findByKey(trx, input.actor, input.requestKey);
        if (existing) return view(trx, existing);
      }
      const customer = await findUserById(trx, input.userId);
      if (!customer || customer.role !== 'customer') throw new AppError('NOT_FOUND', 'no such customer');
      if (input.refundId) {
        const refund = await trx
          .selectFrom('refunds')
          .select(['id', 'status'])
          .where('id', '=', input.refundId)
          .where('customer_id', '=', input.userId)
          .executeTakeFirst();
        if (!refund) throw new AppError('NOT_FOUND', 'no such refund for this customer');
      }
      const row: CompensationsTable = {
        id: newId('cmp', now.getTime()),
        customer_id: input.userId,
        amount: input.amount,
        reason: input.reason,
        refund_id: input.refundId,
        actor: input.actor,
        request_key: input.requestKey,
        transaction_id: newId('txn', now.getTime()),
        created_at: now.toISOString(),
      };
      await trx.insertInto('compensations').values(row).execute();
      await postTransaction(trx, {
        id: row.transaction_id,
        kind: 'compensation',
        ref: row.id,
        actor: input.actor,
        customerId: input.userId,
        memo: input.reason,
        at: now,
        legs: transfer(accounts.compensation(), accounts.customerBalance(input.userId), input.amount),
      });
      if (input.refundId) {
        const current = await trx.selectFrom('refunds').select('status').where('id', '=', input.refundId).executeTakeFirstOrThrow();
        await addRefundEvent(trx, {
          refundId: input.refundId,
          status: current.status as 'approved',
          actor: input.actor,
          note: `Compensation of ${formatFen(input.amount)} credited to your balance: ${input.reason}`,
          at: now,
        });
      }
      await recordAudit(trx, {
        actor: input.actor,
        action: 'compensation.granted',
        targetType: 'user',
        targetId: input.userId,
        data: { compensation_id: row.id, amount: input.amount, reason: input.reason, refund_id: input.refundId },
        at: now,
      });
      ctx.metrics.ledgerTransactions.inc({ kind: 'compensation' });
      return view(trx, row);
    });
  } catch (error) {
    if (isUniqueViolation(error) && input.requestKey) {
      const existing = await findByKey(ctx.store.db, input.actor, input.requestKey);
      if (existing) return view(ctx.store.db, existing);
    }
    throw error;
  }
}
