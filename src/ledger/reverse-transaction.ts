import { AppError } from '../domain/errors.js';
import type { Trx } from '../store/database.js';
import { isUniqueViolation } from '../store/transaction.js';
import type { AccountKind } from './accounts.js';
import { type JournalEntry, type PostedTransaction, postTransaction } from './post-transaction.js';

/**
 * Corrects a transaction by posting its mirror image (the ledger is append-only). A
 * transaction is reversed at most once (unique `reverses`); a reversal that would take a
 * customer balance below zero fails with `INSUFFICIENT_BALANCE` like any other debit.
 */
export async function reverseTransaction(
  trx: Trx,
  input: { transactionId: string; actor: string; memo: string; at: Date },
): Promise<PostedTransaction> {
  const original = await trx.selectFrom('ledger_transactions').selectAll().where('id', '=', input.transactionId).executeTakeFirst();
  if (!original) throw new AppError('NOT_FOUND', 'no such ledger transaction');
  if (original.kind === 'reversal') throw new AppError('INVALID_STATE', 'a reversal cannot be reversed');
  const already = await trx.selectFrom('ledger_transactions').select('id').where('reverses', '=', original.id).executeTakeFirst();
  if (already) throw new AppError('INVALID_STATE', 'transaction already reversed');

  const postings = await trx
    .selectFrom('ledger_postings as p')
    .innerJoin('ledger_accounts as a', 'a.id', 'p.account_id')
    .select(['p.account_id', 'p.amount', 'a.kind', 'a.customer_id'])
    .where('p.transaction_id', '=', original.id)
    .execute();

  const reversal: JournalEntry = {
    kind: 'reversal',
    ref: original.ref,
    actor: input.actor,
    customerId: original.customer_id,
    memo: input.memo,
    reverses: original.id,
    at: input.at,
    legs: postings.map((p) => ({
      account: { id: p.account_id, kind: p.kind as AccountKind, customerId: p.customer_id },
      amount: -Number(p.amount),
    })),
  };
  try {
    return await postTransaction(trx, reversal);
  } catch (error) {
    // Two reversals racing both pass the read above on PostgreSQL; the unique `reverses` key
    // stops the second, which is the same refusal as a sequential second reversal.
    if (isUniqueViolation(error)) throw new AppError('INVALID_STATE', 'transaction already reversed');
    throw error;
  }
}
