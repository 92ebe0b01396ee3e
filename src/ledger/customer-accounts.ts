import type { Executor, Trx } from '../store/database.js';
import { reusableQuery } from '../store/reusable-query.js';
import { accounts } from './accounts.js';

/** Opens a customer's balance and held accounts (at registration, in the same transaction). */
export async function openCustomerAccounts(trx: Trx, customerId: string, at: Date): Promise<void> {
  const now = at.toISOString();
  await trx
    .insertInto('ledger_accounts')
    .values(
      [accounts.customerBalance(customerId), accounts.customerHeld(customerId)].map((a) => ({
        id: a.id,
        kind: a.kind,
        customer_id: customerId,
        balance: 0,
        created_at: now,
        updated_at: now,
      })),
    )
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

export interface CustomerBalance {
  available: number;
  held: number;
  updatedAt: string;
}

/** Both balances of a customer in one query. */
const selectBalanceRows = reusableQuery(2, (db, value) =>
  db
    .selectFrom('ledger_accounts')
    .select(['id', 'balance', 'updated_at'])
    .where('id', 'in', [value(0), value(1)]),
);

export async function readCustomerBalance(db: Executor, customerId: string): Promise<CustomerBalance | null> {
  const balanceId = accounts.customerBalance(customerId).id;
  const heldId = accounts.customerHeld(customerId).id;
  const { rows } = await selectBalanceRows(db, [balanceId, heldId]);
  const available = rows.find((r) => r.id === balanceId);
  const held = rows.find((r) => r.id === heldId);
  if (!available || !held) return null;
  return {
    available: Number(available.balance),
    held: Number(held.balance),
    updatedAt: available.updated_at > held.updated_at ? available.updated_at : held.updated_at,
  };
}

export interface BalanceMovement {
  seq: number;
  transactionId: string;
  /** Signed change of the available balance: positive adds to it. */
  amount: number;
  kind: string;
  ref: string | null;
  createdAt: string;
  balanceAfter: number;
}

/** Movements of a customer's available balance, newest first, paged by posting sequence. */
export async function listBalanceMovements(
  db: Executor,
  customerId: string,
  options: { limit: number; beforeSeq: number | null },
): Promise<BalanceMovement[]> {
  let query = db
    .selectFrom('ledger_postings as p')
    .innerJoin('ledger_transactions as t', 't.id', 'p.transaction_id')
    .select(['p.seq', 'p.transaction_id', 'p.amount', 'p.balance_after', 'p.created_at', 't.kind', 't.ref'])
    .where('p.account_id', '=', accounts.customerBalance(customerId).id)
    .orderBy('p.seq', 'desc')
    .limit(options.limit);
  if (options.beforeSeq !== null) query = query.where('p.seq', '<', options.beforeSeq);
  const rows = await query.execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    transactionId: r.transaction_id,
    // The balance is a liability: a credit posting (negative) is money added for the customer.
    amount: -Number(r.amount),
    kind: r.kind,
    ref: r.ref,
    createdAt: r.created_at,
    balanceAfter: Number(r.balance_after ?? 0),
  }));
}
