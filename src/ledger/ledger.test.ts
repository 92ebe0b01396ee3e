import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runTopupCli } from '../../test/support/processes.js';
import { openTestStore, type TestStore } from '../../test/support/test-store.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { inTransaction } from '../store/transaction.js';
import { accounts } from './accounts.js';
import { openCustomerAccounts, readCustomerBalance } from './customer-accounts.js';
import { type JournalEntry, postTransaction, transfer, UnbalancedTransactionError } from './post-transaction.js';
import { reverseTransaction } from './reverse-transaction.js';
import { verifyLedger } from './verify.js';

let ts: TestStore;
beforeAll(async () => {
  ts = await openTestStore();
});
afterAll(async () => {
  await ts?.close();
});

async function newCustomer(): Promise<string> {
  const id = newId('usr');
  await inTransaction(ts.store, (trx) => openCustomerAccounts(trx, id, new Date()));
  return id;
}

function entry(legs: JournalEntry['legs'], overrides: Partial<JournalEntry> = {}): JournalEntry {
  return { kind: 'test', ref: null, actor: 'system', customerId: null, legs, at: new Date(), ...overrides };
}

async function credit(customerId: string, amount: number): Promise<string> {
  const posted = await inTransaction(ts.store, (trx) =>
    postTransaction(
      trx,
      entry(transfer(accounts.adjustments(), accounts.customerBalance(customerId), amount), { kind: 'adjustment', customerId }),
    ),
  );
  return posted.id;
}

async function balanceOf(customerId: string): Promise<{ available: number; held: number }> {
  const balance = await readCustomerBalance(ts.store.db, customerId);
  if (!balance) throw new Error(`no accounts for ${customerId}`);
  return { available: balance.available, held: balance.held };
}

async function counts(): Promise<{ accounts: number; transactions: number; postings: number }> {
  const report = await verifyLedger(ts.store.db);
  return { accounts: report.accounts, transactions: report.transactions, postings: report.postings };
}

async function transactionWrites(id: string): Promise<{ transactions: number; postings: number }> {
  const t = await ts.store.db.selectFrom('ledger_transactions').select('id').where('id', '=', id).execute();
  const p = await ts.store.db.selectFrom('ledger_postings').select('seq').where('transaction_id', '=', id).execute();
  return { transactions: t.length, postings: p.length };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the operation to fail');
}

describe('postTransaction', () => {
  it('posts a balanced transfer, moves the natural balances and records balance_after', async () => {
    const customer = await newCustomer();
    const posted = await inTransaction(ts.store, (trx) =>
      postTransaction(trx, entry(transfer(accounts.adjustments(), accounts.customerBalance(customer), 1234), { customerId: customer })),
    );
    expect(posted.id).toMatch(/^txn_/);
    expect(posted.balancesAfter.get(accounts.customerBalance(customer).id)).toBe(1234);
    expect(await balanceOf(customer)).toEqual({ available: 1234, held: 0 });
    const postings = await ts.store.db
      .selectFrom('ledger_postings')
      .select(['account_id', 'amount', 'balance_after'])
      .where('transaction_id', '=', posted.id)
      .orderBy('seq')
      .execute();
    expect(
      postings.map((p) => ({ ...p, amount: Number(p.amount), balance_after: p.balance_after === null ? null : Number(p.balance_after) })),
    ).toEqual([
      { account_id: 'platform:adjustments', amount: 1234, balance_after: null },
      { account_id: accounts.customerBalance(customer).id, amount: -1234, balance_after: 1234 },
    ]);
  });

  it.each([
    [
      'legs that do not sum to zero',
      (c: string) => [
        { account: accounts.customerBalance(c), amount: 100 },
        { account: accounts.apiRevenue(), amount: -99 },
      ],
    ],
    ['a single leg', (c: string) => [{ account: accounts.customerBalance(c), amount: 100 }]],
    [
      'legs that cancel out on one account',
      (c: string) => [
        { account: accounts.customerBalance(c), amount: 100 },
        { account: accounts.customerBalance(c), amount: -100 },
      ],
    ],
    [
      'a zero leg',
      (c: string) => [
        { account: accounts.customerBalance(c), amount: 0 },
        { account: accounts.apiRevenue(), amount: 0 },
      ],
    ],
    [
      'a fractional amount',
      (c: string) => [
        { account: accounts.customerBalance(c), amount: 1.5 },
        { account: accounts.apiRevenue(), amount: -1.5 },
      ],
    ],
    ['no legs', (_c: string) => []],
  ])('refuses %s with UnbalancedTransactionError and writes nothing', async (_name, legs) => {
    const customer = await newCustomer();
    await credit(customer, 500);
    const before = await counts();
    const id = newId('txn');
    const error = await failure(
      inTransaction(ts.store, (trx) => postTransaction(trx, entry(legs(customer), { id, customerId: customer }))),
    );
    expect(error).toBeInstanceOf(UnbalancedTransactionError);
    expect(await counts()).toEqual(before);
    expect(await transactionWrites(id)).toEqual({ transactions: 0, postings: 0 });
    expect(await balanceOf(customer)).toEqual({ available: 500, held: 0 });
  });

  it('refuses a debit below zero with INSUFFICIENT_BALANCE and writes nothing, not even the new platform account', async () => {
    const customer = await newCustomer();
    await credit(customer, 500);
    const before = await counts();
    const id = newId('txn');
    const clearing = accounts.channelClearing(`never_${newId('txn').slice(-8)}`);
    const error = await failure(
      inTransaction(ts.store, async (trx) => {
        // Something written earlier in the same transaction must roll back with the refusal.
        await trx
          .insertInto('purchases')
          .values({
            id: 'pur_rolled_back',
            customer_id: customer,
            amount: 501,
            description: 'x',
            request_key: null,
            transaction_id: id,
            created_at: new Date().toISOString(),
          })
          .execute();
        return postTransaction(trx, entry(transfer(accounts.customerBalance(customer), clearing, 501), { id, customerId: customer }));
      }),
    );
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'INSUFFICIENT_BALANCE', status: 422 });
    expect(await transactionWrites(id)).toEqual({ transactions: 0, postings: 0 });
    expect(await counts()).toEqual(before);
    expect(await ts.store.db.selectFrom('purchases').select('id').where('id', '=', 'pur_rolled_back').execute()).toEqual([]);
    expect(await ts.store.db.selectFrom('ledger_accounts').select('id').where('id', '=', clearing.id).execute()).toEqual([]);
    expect(await balanceOf(customer)).toEqual({ available: 500, held: 0 });

    // Exactly the balance is allowed: the guard is `>= 0`, not `> 0`.
    await inTransaction(ts.store, (trx) =>
      postTransaction(trx, entry(transfer(accounts.customerBalance(customer), accounts.apiRevenue(), 500), { customerId: customer })),
    );
    expect(await balanceOf(customer)).toEqual({ available: 0, held: 0 });
  });

  it('refuses to release more than is held, and rolls back the credit leg too', async () => {
    const customer = await newCustomer();
    await credit(customer, 1000);
    await inTransaction(ts.store, (trx) =>
      postTransaction(
        trx,
        entry(transfer(accounts.customerBalance(customer), accounts.customerHeld(customer), 300), { customerId: customer }),
      ),
    );
    expect(await balanceOf(customer)).toEqual({ available: 700, held: 300 });
    const error = await failure(
      inTransaction(ts.store, (trx) =>
        postTransaction(
          trx,
          entry(transfer(accounts.customerHeld(customer), accounts.customerBalance(customer), 301), { customerId: customer }),
        ),
      ),
    );
    expect(error).toMatchObject({ code: 'INSUFFICIENT_BALANCE' });
    // The balance leg (a credit, sorted first by account id) was applied in the transaction and must be undone.
    expect(await balanceOf(customer)).toEqual({ available: 700, held: 300 });
  });

  it('never overdraws under concurrent debits: exactly as many succeed as the balance covers', async () => {
    const customer = await newCustomer();
    await credit(customer, 1000);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        inTransaction(ts.store, (trx) =>
          postTransaction(trx, entry(transfer(accounts.customerBalance(customer), accounts.apiRevenue(), 100), { customerId: customer })),
        ),
      ),
    );
    const succeeded = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected');
    expect(succeeded).toBe(10);
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'INSUFFICIENT_BALANCE' });
    expect(await balanceOf(customer)).toEqual({ available: 0, held: 0 });
    expect((await verifyLedger(ts.store.db)).violations).toEqual([]);
  });
});

describe('reverseTransaction', () => {
  it('posts the mirror image once; a second reversal and reversing a reversal are refused', async () => {
    const customer = await newCustomer();
    const original = await credit(customer, 800);
    const reversal = await inTransaction(ts.store, (trx) =>
      reverseTransaction(trx, { transactionId: original, actor: 'staff:usr_x', memo: 'wrong customer', at: new Date() }),
    );
    expect(await balanceOf(customer)).toEqual({ available: 0, held: 0 });
    const row = await ts.store.db.selectFrom('ledger_transactions').selectAll().where('id', '=', reversal.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ kind: 'reversal', reverses: original, customer_id: customer, memo: 'wrong customer' });

    const before = await counts();
    const again = await failure(
      inTransaction(ts.store, (trx) =>
        reverseTransaction(trx, { transactionId: original, actor: 'system', memo: 'again', at: new Date() }),
      ),
    );
    expect(again).toBeInstanceOf(AppError);
    expect(again).toMatchObject({ code: 'INVALID_STATE' });
    const ofReversal = await failure(
      inTransaction(ts.store, (trx) => reverseTransaction(trx, { transactionId: reversal.id, actor: 'system', memo: 'x', at: new Date() })),
    );
    expect(ofReversal).toMatchObject({ code: 'INVALID_STATE' });
    const missing = await failure(
      inTransaction(ts.store, (trx) => reverseTransaction(trx, { transactionId: 'txn_nope', actor: 'system', memo: 'x', at: new Date() })),
    );
    expect(missing).toMatchObject({ code: 'NOT_FOUND' });
    expect(await counts()).toEqual(before);
    expect(await balanceOf(customer)).toEqual({ available: 0, held: 0 });
  });

  it('refuses a reversal that would take the balance below zero', async () => {
    const customer = await newCustomer();
    const original = await credit(customer, 800);
    await inTransaction(ts.store, (trx) =>
      postTransaction(trx, entry(transfer(accounts.customerBalance(customer), accounts.apiRevenue(), 500), { customerId: customer })),
    );
    const before = await counts();
    const error = await failure(
      inTransaction(ts.store, (trx) => reverseTransaction(trx, { transactionId: original, actor: 'system', memo: 'x', at: new Date() })),
    );
    expect(error).toMatchObject({ code: 'INSUFFICIENT_BALANCE' });
    expect(await counts()).toEqual(before);
    expect(await balanceOf(customer)).toEqual({ available: 300, held: 0 });
  });

  it('lets exactly one of two concurrent reversals win; the other is INVALID_STATE', async () => {
    for (let round = 0; round < 5; round++) {
      const customer = await newCustomer();
      const original = await credit(customer, 100);
      const results = await Promise.allSettled(
        [1, 2].map(() =>
          inTransaction(ts.store, (trx) =>
            reverseTransaction(trx, { transactionId: original, actor: 'system', memo: 'race', at: new Date() }),
          ),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected');
      expect(lost?.status === 'rejected' ? lost.reason : null).toMatchObject({ code: 'INVALID_STATE' });
      expect(await balanceOf(customer)).toEqual({ available: 0, held: 0 });
    }
  });
});

/** `topup verify` as its own process on this suite's database (an empty DATABASE_URL means SQLite). */
function runVerifyCli(): Promise<CliResult> {
  return runTopupCli(['verify'], { DATA_DIR: ts.database.dataDir, DATABASE_URL: ts.database.databaseUrl ?? '', LOG_LEVEL: 'silent' });
}

describe('verifyLedger and `topup verify`', () => {
  it('is clean after everything above, in code and from the CLI', async () => {
    const report = await verifyLedger(ts.store.db);
    expect(report.violations).toEqual([]);
    expect(report.checks.every((c) => c.violations === 0)).toBe(true);
    expect(report.transactions).toBeGreaterThan(0);
    const cli = await runVerifyCli();
    expect(cli.output).toContain('verify: clean');
    expect(cli.output).not.toContain('violation');
    expect(cli.code).toBe(0);
  });

  it('detects a balance tampered with directly, and a negative one', async () => {
    const customer = await newCustomer();
    await credit(customer, 250);
    const id = accounts.customerBalance(customer).id;
    await ts.store.db
      .updateTable('ledger_accounts')
      .set((eb) => ({ balance: eb('balance', '+', 1) }))
      .where('id', '=', id)
      .execute();
    try {
      const report = await verifyLedger(ts.store.db);
      expect(report.violations).toEqual(
        expect.arrayContaining([
          { invariant: 'balance equals postings', subject: id, detail: 'stored 251, postings 250' },
          expect.objectContaining({ invariant: 'last balance_after', subject: id }),
        ]),
      );
      expect(report.violations.every((v) => v.subject === id)).toBe(true);
      const cli = await runVerifyCli();
      expect(cli.code).toBe(1);
      expect(cli.output).toContain('violation');
      expect(cli.output).toContain(id);

      await ts.store.db.updateTable('ledger_accounts').set({ balance: -5 }).where('id', '=', id).execute();
      const negative = await verifyLedger(ts.store.db);
      expect(negative.violations).toContainEqual({ invariant: 'non-negative', subject: id, detail: 'balance -5' });
    } finally {
      await ts.store.db.updateTable('ledger_accounts').set({ balance: 250 }).where('id', '=', id).execute();
    }
    expect((await verifyLedger(ts.store.db)).violations).toEqual([]);
    const clean = await runVerifyCli();
    expect(clean.output).toContain('verify: clean');
    expect(clean.code).toBe(0);
  });

  it('detects an unbalanced transaction inserted directly', async () => {
    const id = newId('txn');
    const at = new Date().toISOString();
    await ts.store.db
      .insertInto('ledger_transactions')
      .values({ id, kind: 'forged', ref: null, actor: 'intruder', customer_id: null, memo: null, reverses: null, created_at: at })
      .execute();
    await ts.store.db
      .insertInto('ledger_postings')
      .values({ transaction_id: id, account_id: 'platform:adjustments', amount: 700, balance_after: null, created_at: at })
      .execute();
    try {
      const report = await verifyLedger(ts.store.db);
      expect(report.violations).toEqual([{ invariant: 'balanced', subject: id, detail: 'sum 700, 1 postings' }]);
      expect(report.checks.find((c) => c.name.startsWith('every transaction sums to zero'))?.violations).toBe(1);
      const cli = await runVerifyCli();
      expect(cli.code).toBe(1);
      expect(cli.output).toContain('violation');
      expect(cli.output).toContain(id);
    } finally {
      await ts.store.db.deleteFrom('ledger_postings').where('transaction_id', '=', id).execute();
      await ts.store.db.deleteFrom('ledger_transactions').where('id', '=', id).execute();
    }
    expect((await verifyLedger(ts.store.db)).violations).toEqual([]);
  });

  it('detects a transaction that lost one of its postings', async () => {
    const customer = await newCustomer();
    const txn = await credit(customer, 40);
    // Removing the platform leg leaves one posting: unbalanced, and the customer balance still matches.
    await ts.store.db
      .deleteFrom('ledger_postings')
      .where('transaction_id', '=', txn)
      .where('account_id', '=', 'platform:adjustments')
      .execute();
    const report = await verifyLedger(ts.store.db);
    expect(report.violations).toEqual([{ invariant: 'balanced', subject: txn, detail: 'sum -40, 1 postings' }]);
    await ts.store.db
      .insertInto('ledger_postings')
      .values({
        transaction_id: txn,
        account_id: 'platform:adjustments',
        amount: 40,
        balance_after: null,
        created_at: new Date().toISOString(),
      })
      .execute();
    expect((await verifyLedger(ts.store.db)).violations).toEqual([]);
  });
});
