import { sql } from 'kysely';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { enqueueJob } from '../jobs/job-queue.js';
import type { Db, Executor, Trx } from '../store/database.js';
import { reusableInsert, reusableQuery } from '../store/reusable-query.js';
import { type AccountRef, naturalSign } from './accounts.js';

export interface Leg {
  account: AccountRef;
  /** Debit positive, credit negative. */
  amount: number;
}

export interface JournalEntry {
  /** Preset id, when the caller must reference the transaction before posting it. */
  id?: string;
  /** What caused it, in the domain's words: `purchase`, `recharge`, `adjustment`, `reversal`… */
  kind: string;
  /** The id of the object that caused it (purchase, recharge, refund…). */
  ref: string | null;
  /** Who: `user:usr_…`, `staff:usr_…`, `system`. */
  actor: string;
  customerId: string | null;
  memo?: string | null;
  reverses?: string | null;
  legs: Leg[];
  at: Date;
}

export interface PostedTransaction {
  id: string;
  /** Natural balance after the posting, per guarded (customer) account id. */
  balancesAfter: Map<string, number>;
}

/** Debit `from`, credit `to`: the design writes money movements as `from → to`. */
export function transfer(from: AccountRef, to: AccountRef, amount: number): Leg[] {
  return [
    { account: from, amount },
    { account: to, amount: -amount },
  ];
}

// Every money movement writes these two: compiled once (see reusable-query.ts).
const insertTransactions = reusableInsert('ledger_transactions');
const insertPostings = reusableInsert('ledger_postings');

/**
 * Platform accounts known to exist in a database (keyed by its Kysely adapter, which its
 * transactions share), so a posting does not re-insert them each time: on PostgreSQL that
 * insert is a round trip on every purchase. Filled only by `openPlatformAccounts`, after its
 * own commit — never from inside a transaction that might still roll back.
 */
const openedAccounts = new WeakMap<object, Set<string>>();

/** Platform accounts have no running balance (it is the sum of their postings): a row to post against is all they need. */
async function openDerivedAccounts(db: Executor, refs: readonly AccountRef[], at: string): Promise<void> {
  if (refs.length === 0) return;
  await db
    .insertInto('ledger_accounts')
    .values(refs.map((r) => ({ id: r.id, kind: r.kind, customer_id: null, balance: 0, created_at: at, updated_at: at })))
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/** Opens the platform's own accounts (idempotent) at start; postings then skip re-opening them. */
export async function openPlatformAccounts(db: Db, refs: readonly AccountRef[], at: Date): Promise<void> {
  const derived = refs.filter((r) => r.customerId === null);
  await openDerivedAccounts(db, derived, at.toISOString());
  const adapter = db.getExecutor().adapter;
  const known = openedAccounts.get(adapter) ?? new Set<string>();
  for (const r of derived) known.add(r.id);
  openedAccounts.set(adapter, known);
}

// The guard is in the write: the row changes only if the balance stays ≥ 0 (compiled once).
const guardedUpdate = reusableQuery<{ balance: number; reminder_threshold: number | null; auto_recharge_threshold: number | null }>(
  4,
  (db, value) =>
    db
      .updateTable('ledger_accounts')
      .set({ balance: sql<number>`balance + ${value(0)}`, updated_at: value(1) })
      .where('id', '=', value(2))
      .where(sql<boolean>`balance + ${value(3)} >= 0`)
      .returning(['balance', 'reminder_threshold', 'auto_recharge_threshold']),
);

export class UnbalancedTransactionError extends Error {}

/**
 * Writes one balanced journal transaction inside the caller's database transaction.
 *
 * Guarantees: postings sum to zero (checked before writing); every customer account stays
 * ≥ 0, enforced by the UPDATE itself (`WHERE balance + :delta >= 0`), never by a read before
 * it, so two concurrent debits cannot both pass. Customer rows are updated in account-id
 * order so concurrent transactions lock in the same order and cannot deadlock each other.
 * Platform accounts (hot: every purchase hits api_revenue) have no running-balance row;
 * their balance is the sum of their postings.
 *
 * Throws `INSUFFICIENT_BALANCE` when a customer account would go negative; the caller's
 * transaction then rolls back whole.
 */
export async function postTransaction(trx: Trx, entry: JournalEntry): Promise<PostedTransaction> {
  const merged = new Map<string, { account: AccountRef; amount: number }>();
  for (const leg of entry.legs) {
    if (!Number.isSafeInteger(leg.amount) || leg.amount === 0) {
      throw new UnbalancedTransactionError(`leg amount must be a non-zero integer, got ${leg.amount}`);
    }
    const seen = merged.get(leg.account.id);
    if (seen) seen.amount += leg.amount;
    else merged.set(leg.account.id, { account: leg.account, amount: leg.amount });
  }
  const legs = [...merged.values()].filter((l) => l.amount !== 0);
  const sum = legs.reduce((total, l) => total + l.amount, 0);
  if (sum !== 0 || legs.length < 2) {
    throw new UnbalancedTransactionError(`journal entry ${entry.kind} does not balance (sum ${sum})`);
  }

  const at = entry.at.toISOString();
  const id = entry.id ?? newId('txn', entry.at.getTime());

  const opened = openedAccounts.get(trx.getExecutor().adapter);
  const derived = legs.filter((l) => l.account.customerId === null && !opened?.has(l.account.id));
  await openDerivedAccounts(
    trx,
    derived.map((l) => l.account),
    at,
  );

  await insertTransactions(trx, [
    {
      id,
      kind: entry.kind,
      ref: entry.ref,
      actor: entry.actor,
      customer_id: entry.customerId,
      memo: entry.memo ?? null,
      reverses: entry.reverses ?? null,
      created_at: at,
    },
  ]);

  const balancesAfter = new Map<string, number>();
  const guarded = legs.filter((l) => l.account.customerId !== null).sort((a, b) => (a.account.id < b.account.id ? -1 : 1));
  for (const leg of guarded) {
    const delta = leg.amount * naturalSign(leg.account.kind);
    const row = (await guardedUpdate(trx, [delta, at, leg.account.id, delta])).rows[0];
    if (!row) {
      throw new AppError(
        'INSUFFICIENT_BALANCE',
        leg.account.id.endsWith(':held') ? 'the held amount is not enough for this movement' : 'the balance is not enough for this debit',
      );
    }
    const after = Number(row.balance);
    balancesAfter.set(leg.account.id, after);
    const before = after - delta;
    const crossed = (threshold: number | null) => threshold !== null && before >= Number(threshold) && after < Number(threshold);
    if (crossed(row.reminder_threshold) || crossed(row.auto_recharge_threshold)) {
      // Going below a watched threshold (low-balance reminder, auto-recharge) is work for the
      // worker, recorded in this same transaction so it happens exactly when the debit does.
      await enqueueJob(
        trx,
        {
          type: 'balance.crossed_below',
          payload: {
            customerId: leg.account.customerId,
            balance: after,
            reminder: crossed(row.reminder_threshold),
            autoRecharge: crossed(row.auto_recharge_threshold),
          },
        },
        entry.at,
      );
    }
  }

  await insertPostings(
    trx,
    legs.map((l) => ({
      transaction_id: id,
      account_id: l.account.id,
      amount: l.amount,
      balance_after: balancesAfter.get(l.account.id) ?? null,
      created_at: at,
    })),
  );

  return { id, balancesAfter };
}
