import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/domain/errors.js';
import { newId } from '../../src/domain/ids.js';
import { type AccountKind, type AccountRef, accounts, naturalSign } from '../../src/ledger/accounts.js';
import { openCustomerAccounts } from '../../src/ledger/customer-accounts.js';
import { type Leg, postTransaction, transfer } from '../../src/ledger/post-transaction.js';
import { reverseTransaction } from '../../src/ledger/reverse-transaction.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { inTransaction } from '../../src/store/transaction.js';
import { openTestStore, type TestStore } from '../support/test-store.js';

/**
 * Random interleavings of ledger operations (sequential and concurrent) against a JS model of
 * the expected balances. One database for the whole property; every run uses fresh customers,
 * and platform accounts are compared by how much they moved during the run.
 */

type Op = { t: 'credit' | 'purchase' | 'hold' | 'release'; c: number; amount: number } | { t: 'reverse'; target: number };

const NUM_RUNS = Number(process.env.LEDGER_PROPERTY_RUNS ?? 40);

const customerIndex = fc.nat({ max: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('credit' as const), c: customerIndex, amount: fc.integer({ min: 1, max: 5_000 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constant('purchase' as const), c: customerIndex, amount: fc.integer({ min: 1, max: 3_000 }) }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('hold' as const), c: customerIndex, amount: fc.integer({ min: 1, max: 3_000 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('release' as const), c: customerIndex, amount: fc.integer({ min: 1, max: 3_000 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('reverse' as const), target: fc.nat() }) },
);
/** A step is one operation, or several fired at once with Promise.all. */
const stepArb = fc.oneof(
  { weight: 3, arbitrary: opArb.map((op) => [op]) },
  { weight: 1, arbitrary: fc.array(opArb, { minLength: 2, maxLength: 6 }) },
);
const scenarioArb = fc.record({ customers: fc.integer({ min: 2, max: 4 }), steps: fc.array(stepArb, { minLength: 1, maxLength: 20 }) });

/** A posted transaction as the model knows it: natural balance change per account. */
interface Posted {
  id: string;
  effects: Map<string, number>;
  isReversal: boolean;
  reversed: boolean;
}

interface Planned {
  label: string;
  effects: Map<string, number>;
  target: Posted | null;
  /** Id given to the transaction up front, so a refusal can be checked to have written nothing. */
  presetId: string | null;
  purchaseId: string | null;
  run(): Promise<string>;
}

type Outcome = { ok: true; id: string } | { ok: false; code: 'INSUFFICIENT_BALANCE' | 'INVALID_STATE' };

function effectsOf(legs: Leg[]): Map<string, number> {
  const effects = new Map<string, number>();
  for (const leg of legs) {
    const natural = leg.amount * naturalSign(leg.account.kind);
    effects.set(leg.account.id, (effects.get(leg.account.id) ?? 0) + natural);
  }
  return effects;
}

function negate(effects: Map<string, number>): Map<string, number> {
  return new Map([...effects].map(([account, delta]) => [account, -delta]));
}

let ts: TestStore;
beforeAll(async () => {
  ts = await openTestStore();
});
afterAll(async () => {
  await ts?.close();
});

async function platformBalances(): Promise<Map<string, { kind: AccountKind; natural: number }>> {
  const report = await verifyLedger(ts.store.db);
  const kinds = await ts.store.db.selectFrom('ledger_accounts').select(['id', 'kind']).where('customer_id', 'is', null).execute();
  const byId = new Map(kinds.map((k) => [k.id, k.kind as AccountKind]));
  const out = new Map<string, { kind: AccountKind; natural: number }>();
  for (const [id, natural] of Object.entries(report.platform)) {
    const kind = byId.get(id);
    if (!kind) throw new Error(`platform account ${id} has no kind`);
    out.set(id, { kind, natural });
  }
  return out;
}

async function storedCustomerBalances(customerIds: string[]): Promise<Map<string, number>> {
  const rows = await ts.store.db.selectFrom('ledger_accounts').select(['id', 'balance']).where('customer_id', 'in', customerIds).execute();
  return new Map(rows.map((r) => [r.id, Number(r.balance)]));
}

async function runScenario(scenario: { customers: number; steps: Op[][] }): Promise<void> {
  const db = ts.store.db;
  const customerIds = Array.from({ length: scenario.customers }, () => newId('usr'));
  for (const id of customerIds) await inTransaction(ts.store, (trx) => openCustomerAccounts(trx, id, new Date()));
  const platformBefore = await platformBalances();

  // The model: natural balances of this run's customer accounts, and how far platform accounts moved.
  const model = new Map<string, number>();
  for (const id of customerIds) {
    model.set(accounts.customerBalance(id).id, 0);
    model.set(accounts.customerHeld(id).id, 0);
  }
  const platformMoved = new Map<string, number>();
  const posted: Posted[] = [];
  const refusedIds: string[] = [];
  const refusedPurchaseIds: string[] = [];
  let purchases = 0;

  function plan(op: Op): Planned | null {
    if (op.t === 'reverse') {
      const target = posted[op.target % Math.max(1, posted.length)];
      if (!target) return null;
      return {
        label: `reverse ${target.id}`,
        effects: negate(target.effects),
        target,
        presetId: null,
        purchaseId: null,
        run: () =>
          inTransaction(ts.store, async (trx) => {
            const reversal = await reverseTransaction(trx, { transactionId: target.id, actor: 'system', memo: 'property', at: new Date() });
            return reversal.id;
          }),
      };
    }
    const customer = customerIds[op.c % customerIds.length] ?? '';
    const balance = accounts.customerBalance(customer);
    const held = accounts.customerHeld(customer);
    const routes: Record<typeof op.t, [AccountRef, AccountRef]> = {
      credit: [accounts.adjustments(), balance],
      purchase: [balance, accounts.apiRevenue()],
      hold: [balance, held],
      release: [held, balance],
    };
    const [from, to] = routes[op.t];
    const legs = transfer(from, to, op.amount);
    const id = newId('txn');
    const purchaseId = op.t === 'purchase' ? newId('pur') : null;
    return {
      label: `${op.t} ${op.amount} for ${customer}`,
      effects: effectsOf(legs),
      target: null,
      presetId: id,
      purchaseId,
      run: () =>
        inTransaction(ts.store, async (trx) => {
          if (purchaseId) {
            // Written before the debit: a refused purchase must take this row down with it.
            await trx
              .insertInto('purchases')
              .values({
                id: purchaseId,
                customer_id: customer,
                amount: op.amount,
                description: 'property',
                request_key: null,
                transaction_id: id,
                created_at: new Date().toISOString(),
              })
              .execute();
          }
          const result = await postTransaction(trx, {
            id,
            kind: op.t,
            ref: purchaseId,
            actor: 'system',
            customerId: customer,
            legs,
            at: new Date(),
          });
          return result.id;
        }),
    };
  }

  async function attempt(planned: Planned): Promise<Outcome> {
    try {
      return { ok: true, id: await planned.run() };
    } catch (error) {
      if (error instanceof AppError && error.code === 'INSUFFICIENT_BALANCE') return { ok: false, code: error.code };
      if (error instanceof AppError && error.code === 'INVALID_STATE' && planned.target) return { ok: false, code: error.code };
      throw error;
    }
  }

  for (const step of scenario.steps) {
    const batch = step.map(plan).filter((p): p is Planned => p !== null);
    if (batch.length === 0) continue;
    const pre = new Map(model);
    const reversedBefore = new Set(posted.filter((p) => p.reversed).map((p) => p.id));
    const outcomes = await Promise.all(batch.map(attempt));

    const succeeded = batch.filter((_, i) => outcomes[i]?.ok);
    /** Lowest (highest) balance an account can have had when `self` ran, given the other successes of the batch. */
    const bound = (account: string, self: Planned, pick: (d: number) => number) =>
      (pre.get(account) ?? 0) + succeeded.filter((o) => o !== self).reduce((sum, o) => sum + pick(o.effects.get(account) ?? 0), 0);
    const debits = (p: Planned) => [...p.effects].filter(([account, d]) => d < 0 && model.has(account));

    batch.forEach((planned, i) => {
      const outcome = outcomes[i];
      if (!outcome) throw new Error('missing outcome');
      const what = `${planned.label} in a batch of ${batch.length}`;
      const target = planned.target;
      const racedReversal = target !== null && succeeded.some((o) => o !== planned && o.target === target);
      if (outcome.ok) {
        if (target && (target.isReversal || reversedBefore.has(target.id))) throw new Error(`${what}: succeeded but must be INVALID_STATE`);
        for (const [account, d] of debits(planned)) {
          if (bound(account, planned, (x) => Math.max(0, x)) + d < 0)
            throw new Error(`${what}: succeeded though ${account} could never cover it`);
        }
        return;
      }
      if (planned.presetId) refusedIds.push(planned.presetId);
      if (planned.purchaseId) refusedPurchaseIds.push(planned.purchaseId);
      if (outcome.code === 'INVALID_STATE') {
        const expected = target !== null && (target.isReversal || reversedBefore.has(target.id) || racedReversal);
        if (!expected) throw new Error(`${what}: INVALID_STATE but the target could be reversed`);
        return;
      }
      if (target && (target.isReversal || reversedBefore.has(target.id)))
        throw new Error(`${what}: ${outcome.code}, expected INVALID_STATE`);
      const couldBeShort = debits(planned).some(([account, d]) => bound(account, planned, (x) => Math.min(0, x)) + d < 0);
      if (!couldBeShort) throw new Error(`${what}: INSUFFICIENT_BALANCE though the balance always covered it`);
    });

    batch.forEach((planned, i) => {
      const outcome = outcomes[i];
      if (!outcome?.ok) return;
      for (const [account, d] of planned.effects) {
        if (model.has(account)) model.set(account, (model.get(account) ?? 0) + d);
        else platformMoved.set(account, (platformMoved.get(account) ?? 0) + d);
      }
      if (planned.target) {
        if (planned.target.reversed) throw new Error(`${planned.target.id} reversed twice`);
        planned.target.reversed = true;
      }
      if (planned.purchaseId) purchases++;
      posted.push({ id: outcome.id, effects: planned.effects, isReversal: planned.target !== null, reversed: false });
    });

    // After every step: stored balances are the model's, and never negative.
    const stored = await storedCustomerBalances(customerIds);
    expect(stored).toEqual(model);
    for (const [account, balance] of stored) expect(balance, account).toBeGreaterThanOrEqual(0);
  }

  // After the run: every invariant `topup verify` checks holds.
  const report = await verifyLedger(db);
  expect(report.violations).toEqual([]);

  // Exactly the successful operations were written, two postings each; refusals left nothing.
  const written = await db
    .selectFrom('ledger_transactions as t')
    .leftJoin('ledger_postings as p', 'p.transaction_id', 't.id')
    .select(['t.id', (eb) => eb.fn.count<number>('p.seq').as('legs')])
    .where('t.customer_id', 'in', customerIds)
    .groupBy('t.id')
    .execute();
  expect(written.map((w) => w.id).sort()).toEqual(posted.map((p) => p.id).sort());
  expect(written.every((w) => Number(w.legs) === 2)).toBe(true);
  if (refusedIds.length > 0) {
    expect(await db.selectFrom('ledger_transactions').select('id').where('id', 'in', refusedIds).execute()).toEqual([]);
    expect(await db.selectFrom('ledger_postings').select('seq').where('transaction_id', 'in', refusedIds).execute()).toEqual([]);
  }
  const purchaseRows = await db.selectFrom('purchases').select('id').where('customer_id', 'in', customerIds).execute();
  expect(purchaseRows).toHaveLength(purchases);
  if (refusedPurchaseIds.length > 0) {
    expect(await db.selectFrom('purchases').select('id').where('id', 'in', refusedPurchaseIds).execute()).toEqual([]);
  }

  // Platform accounts moved by exactly what the model says.
  const platformAfter = await platformBalances();
  for (const id of new Set([...platformAfter.keys(), ...platformMoved.keys()])) {
    const moved = (platformAfter.get(id)?.natural ?? 0) - (platformBefore.get(id)?.natural ?? 0);
    expect(moved, id).toBe(platformMoved.get(id) ?? 0);
  }

  // Money is neither lost nor created: in natural signs, assets + expenses = liabilities + income + equity.
  let debitNormal = 0;
  let creditNormal = report.customerAvailable + report.customerHeld;
  for (const { kind, natural } of platformAfter.values()) {
    if (naturalSign(kind) === 1) debitNormal += natural;
    else creditNormal += natural;
  }
  expect(debitNormal).toBe(creditNormal);
  // This run's customers hold exactly what was credited minus what was spent, net of reversals.
  const customersTotal = [...model.values()].reduce((sum, b) => sum + b, 0);
  expect(customersTotal + (platformMoved.get('platform:adjustments') ?? 0) + (platformMoved.get('platform:api_revenue') ?? 0)).toBe(0);
}

describe('ledger invariants under random operations', () => {
  it(`hold for ${NUM_RUNS} random interleavings of credits, purchases, holds, releases and reversals`, async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, runScenario), { numRuns: NUM_RUNS });
    // The property saw real traffic: money moved and both outcomes happened.
    const report = await verifyLedger(ts.store.db);
    expect(report.violations).toEqual([]);
    expect(report.transactions).toBeGreaterThan(NUM_RUNS);
    // About 5–10 s idle on either dialect; the margin is for a loaded CI machine. LEDGER_PROPERTY_RUNS=300 for a deeper search.
  }, 120_000);
});
