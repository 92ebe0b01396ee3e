import { recordAudit } from '../audit/record-audit.js';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { findUserById } from '../identity/users.repo.js';
import { accounts } from '../ledger/accounts.js';
import { postTransaction, transfer } from '../ledger/post-transaction.js';
import type { Executor } from '../store/database.js';
import type { AdjustmentsTable } from '../store/schema.js';
import { inTransaction, isUniqueViolation } from '../store/transaction.js';

export interface AdjustmentView {
  id: string;
  user_id: string;
  amount: number;
  currency: 'CNY';
  reason: string;
  actor_id: string;
  transaction_id: string;
  balance_after: number;
  created_at: string;
}

async function findAdjustment(db: Executor, actorId: string, requestKey: string): Promise<AdjustmentView | null> {
  const row = await db
    .selectFrom('adjustments')
    .selectAll()
    .where('actor_id', '=', actorId)
    .where('request_key', '=', requestKey)
    .executeTakeFirst();
  if (!row) return null;
  const posting = await db
    .selectFrom('ledger_postings')
    .select('balance_after')
    .where('transaction_id', '=', row.transaction_id)
    .where('account_id', '=', accounts.customerBalance(row.customer_id).id)
    .executeTakeFirst();
  return toView(row, Number(posting?.balance_after ?? 0));
}

function toView(row: AdjustmentsTable, balanceAfter: number): AdjustmentView {
  return {
    id: row.id,
    user_id: row.customer_id,
    amount: Number(row.amount),
    currency: 'CNY',
    reason: row.reason,
    actor_id: row.actor_id,
    transaction_id: row.transaction_id,
    balance_after: balanceAfter,
    created_at: row.created_at,
  };
}

/**
 * Finance's manual correction of a customer's balance, against `platform:adjustments`, with a
 * reason and an audit row in the same transaction. A debit never takes the balance below zero.
 */
export async function adjustBalance(
  ctx: Context,
  input: { userId: string; amount: number; reason: string; actorId: string; actorRef: string; requestKey: string | null },
): Promise<AdjustmentView> {
  const now = ctx.clock.now();
  try {
    return await inTransaction(ctx.store, async (trx) => {
      if (input.requestKey) {
        const existing = await findAdjustment(trx, input.actorId, input.requestKey);
        if (existing) return existing;
      }
      const customer = await findUserById(trx, input.userId);
      if (!customer || customer.role !== 'customer') throw new AppError('NOT_FOUND', 'no such customer');
      const row: AdjustmentsTable = {
        id: newId('adj', now.getTime()),
        customer_id: input.userId,
        amount: input.amount,
        reason: input.reason,
        actor_id: input.actorId,
        request_key: input.requestKey,
        transaction_id: newId('txn', now.getTime()),
        created_at: now.toISOString(),
      };
      await trx.insertInto('adjustments').values(row).execute();
      const balance = accounts.customerBalance(input.userId);
      const posted = await postTransaction(trx, {
        id: row.transaction_id,
        kind: 'adjustment',
        ref: row.id,
        actor: input.actorRef,
        customerId: input.userId,
        memo: input.reason,
        at: now,
        legs:
          input.amount > 0
            ? transfer(accounts.adjustments(), balance, input.amount)
            : transfer(balance, accounts.adjustments(), -input.amount),
      });
      await recordAudit(trx, {
        actor: input.actorRef,
        action: 'balance.adjusted',
        targetType: 'user',
        targetId: input.userId,
        data: { adjustment_id: row.id, amount: input.amount, reason: input.reason },
        at: now,
      });
      ctx.metrics.ledgerTransactions.inc({ kind: 'adjustment' });
      return toView(row, posted.balancesAfter.get(balance.id) ?? 0);
    });
  } catch (error) {
    if (isUniqueViolation(error) && input.requestKey) {
      const existing = await findAdjustment(ctx.store.db, input.actorId, input.requestKey);
      if (existing) return existing;
    }
    throw error;
  }
}
