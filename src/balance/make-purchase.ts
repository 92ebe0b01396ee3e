import { CompiledQuery } from 'kysely';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { accounts } from '../ledger/accounts.js';
import { postTransaction, transfer } from '../ledger/post-transaction.js';
import type { Executor, Trx } from '../store/database.js';
import { reusableInsert } from '../store/reusable-query.js';
import type { PurchasesTable } from '../store/schema.js';
import { inTransaction, isUniqueViolation } from '../store/transaction.js';

export interface PurchaseView {
  id: string;
  amount: number;
  currency: 'CNY';
  description: string;
  balance_after: number;
  transaction_id: string;
  created_at: string;
}

// The purchase's own savepoint, inside the group commit's (SQLite) or the transaction (PostgreSQL).
const SAVEPOINT = CompiledQuery.raw('savepoint purchase_work');
const RELEASE = CompiledQuery.raw('release savepoint purchase_work');
const ROLLBACK_TO = CompiledQuery.raw('rollback to savepoint purchase_work');

const insertPurchases = reusableInsert('purchases', { onConflictDoNothing: ['customer_id', 'request_key'] });

async function findPurchase(db: Executor, customerId: string, requestKey: string): Promise<PurchaseView | null> {
  const row = await db
    .selectFrom('purchases as p')
    .innerJoin('ledger_postings as lp', (join) =>
      join.onRef('lp.transaction_id', '=', 'p.transaction_id').on('lp.account_id', '=', accounts.customerBalance(customerId).id),
    )
    .select(['p.id', 'p.amount', 'p.description', 'p.transaction_id', 'p.created_at', 'p.customer_id', 'p.request_key', 'lp.balance_after'])
    .where('p.customer_id', '=', customerId)
    .where('p.request_key', '=', requestKey)
    .executeTakeFirst();
  return row ? toView(row, Number(row.balance_after)) : null;
}

function toView(row: Omit<PurchasesTable, 'customer_id' | 'request_key'>, balanceAfter: number): PurchaseView {
  return {
    id: row.id,
    amount: Number(row.amount),
    currency: 'CNY',
    description: row.description,
    balance_after: balanceAfter,
    transaction_id: row.transaction_id,
    created_at: row.created_at,
  };
}

/**
 * Spends balance on API services: `customer:balance → platform:api_revenue`. The debit is a
 * guarded update, so concurrent purchases can never overdraw (`INSUFFICIENT_BALANCE`).
 * The request key is stored on the purchase (unique per customer), so the same purchase can
 * never be applied twice, even if the process dies after committing and before answering.
 */
export async function makePurchase(
  ctx: Context,
  input: {
    customerId: string;
    amount: number;
    description: string;
    requestKey: string | null;
    /**
     * The HTTP layer's idempotency record, written inside the purchase's transaction: the answer
     * after a purchase, or the refusal (a 4xx problem) when the purchase is refused — the refused
     * work is rolled back to a savepoint and the refusal commits in its place, so no request
     * with the same key can slip in between a refusal and its stored answer.
     */
    record?: {
      answer: (trx: Trx, view: PurchaseView) => Promise<void>;
      refusal: (trx: Trx, error: AppError) => Promise<void>;
    };
  },
): Promise<PurchaseView> {
  const now = ctx.clock.now();
  const purchaseIn = async (trx: Trx): Promise<PurchaseView> => {
    const row = {
      id: newId('pur', now.getTime()),
      customer_id: input.customerId,
      amount: input.amount,
      description: input.description,
      request_key: input.requestKey,
      transaction_id: newId('txn', now.getTime()),
      created_at: now.toISOString(),
    };
    // The purchase row first: a concurrent duplicate waits on its unique key, not on the
    // balance row. Claiming the key with the insert itself saves a lookup on every purchase.
    const inserted = await insertPurchases(trx, [row]);
    if (Number(inserted.numAffectedRows ?? 0) !== 1 && input.requestKey) {
      // This key already bought something (a twin committed first, or the stored answer
      // outlived its retention): that purchase is the answer, nothing is debited again.
      const existing = await findPurchase(trx, input.customerId, input.requestKey);
      if (!existing) throw new Error(`purchase key ${input.requestKey} conflicted but holds no purchase`);
      await input.record?.answer(trx, existing);
      return existing;
    }
    const posted = await postTransaction(trx, {
      id: row.transaction_id,
      kind: 'purchase',
      ref: row.id,
      actor: `user:${input.customerId}`,
      customerId: input.customerId,
      memo: input.description,
      at: now,
      legs: transfer(accounts.customerBalance(input.customerId), accounts.apiRevenue(), input.amount),
    });
    const view = toView(row, posted.balancesAfter.get(accounts.customerBalance(input.customerId).id) ?? 0);
    await input.record?.answer(trx, view);
    return view;
  };
  try {
    const outcome = await inTransaction(ctx.store, async (trx): Promise<PurchaseView | { refused: AppError }> => {
      const record = input.record;
      if (!record) return purchaseIn(trx);
      await trx.executeQuery(SAVEPOINT);
      try {
        const view = await purchaseIn(trx);
        await trx.executeQuery(RELEASE);
        return view;
      } catch (error) {
        // Only the customer's own refusals are answers to keep; a lost race for the key, a
        // fault or a database error rolls the whole transaction back.
        if (!(error instanceof AppError) || error.status >= 500 || error.code === 'IDEMPOTENCY_KEY_IN_USE') throw error;
        await trx.executeQuery(ROLLBACK_TO);
        await trx.executeQuery(RELEASE);
        await record.refusal(trx, error);
        return { refused: error };
      }
    });
    if ('refused' in outcome) throw outcome.refused;
    const view = outcome;
    ctx.metrics.purchases.inc({ outcome: 'succeeded' });
    ctx.metrics.ledgerTransactions.inc({ kind: 'purchase' });
    return view;
  } catch (error) {
    if (isUniqueViolation(error) && input.record) {
      // A request with the same key committed this purchase while ours ran (PostgreSQL):
      // that request's answer is the one to replay.
      throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'the first request with this key is still running');
    }
    if (isUniqueViolation(error) && input.requestKey) {
      const existing = await findPurchase(ctx.store.db, input.customerId, input.requestKey);
      if (existing) return existing;
    }
    ctx.metrics.purchases.inc({ outcome: 'refused' });
    throw error;
  }
}
