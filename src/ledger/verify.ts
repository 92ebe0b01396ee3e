import { sql } from 'kysely';
import type { Db } from '../store/database.js';
import { type AccountKind, naturalSign } from './accounts.js';

export interface Violation {
  invariant: string;
  subject: string;
  detail: string;
}

/** A named invariant; capabilities beyond the ledger (recharges, refunds) add their own. */
export interface InvariantCheck {
  name: string;
  run(db: Db): Promise<Violation[]>;
}

export interface VerifyReport {
  accounts: number;
  transactions: number;
  postings: number;
  customerAvailable: number;
  customerHeld: number;
  /** Natural balance of every derived (platform/channel) account. */
  platform: Record<string, number>;
  checks: { name: string; violations: number }[];
  violations: Violation[];
}

const ledgerChecks: InvariantCheck[] = [
  {
    name: 'every transaction sums to zero and has two or more postings',
    async run(db) {
      const rows = await db
        .selectFrom('ledger_transactions as t')
        .leftJoin('ledger_postings as p', 'p.transaction_id', 't.id')
        .select(['t.id', sql<number>`coalesce(sum(p.amount), 0)`.as('total'), sql<number>`count(p.seq)`.as('legs')])
        .groupBy('t.id')
        .having((eb) => eb.or([eb(sql`coalesce(sum(p.amount), 0)`, '<>', 0), eb(sql`count(p.seq)`, '<', 2)]))
        .execute();
      return rows.map((r) => ({
        invariant: 'balanced',
        subject: r.id,
        detail: `sum ${Number(r.total)}, ${Number(r.legs)} postings`,
      }));
    },
  },
  {
    name: 'postings reference existing transactions',
    async run(db) {
      const rows = await db
        .selectFrom('ledger_postings as p')
        .leftJoin('ledger_transactions as t', 't.id', 'p.transaction_id')
        .select(['p.seq', 'p.transaction_id'])
        .where('t.id', 'is', null)
        .execute();
      return rows.map((r) => ({ invariant: 'orphan posting', subject: String(r.seq), detail: r.transaction_id }));
    },
  },
  {
    name: 'every customer balance equals the sum of its postings, is never negative, and matches its last posting',
    async run(db) {
      const rows = await db
        .selectFrom('ledger_accounts as a')
        .leftJoin('ledger_postings as p', 'p.account_id', 'a.id')
        .select([
          'a.id',
          'a.kind',
          'a.balance',
          sql<number>`coalesce(sum(p.amount), 0)`.as('total'),
          sql<number | null>`max(p.seq)`.as('last_seq'),
        ])
        .where('a.customer_id', 'is not', null)
        .groupBy(['a.id', 'a.kind', 'a.balance'])
        .execute();
      const lastSeqs = rows.map((r) => r.last_seq).filter((s): s is number => s !== null);
      const lastAfter = new Map<number, number>();
      for (let i = 0; i < lastSeqs.length; i += 500) {
        const chunk = lastSeqs.slice(i, i + 500).map(Number);
        const lasts = await db.selectFrom('ledger_postings').select(['seq', 'balance_after']).where('seq', 'in', chunk).execute();
        for (const l of lasts) lastAfter.set(Number(l.seq), Number(l.balance_after));
      }
      const violations: Violation[] = [];
      for (const r of rows) {
        const stored = Number(r.balance);
        const fromPostings = Number(r.total) * naturalSign(r.kind as AccountKind);
        if (stored !== fromPostings) {
          violations.push({
            invariant: 'balance equals postings',
            subject: r.id,
            detail: `stored ${stored}, postings ${fromPostings}`,
          });
        }
        if (stored < 0) violations.push({ invariant: 'non-negative', subject: r.id, detail: `balance ${stored}` });
        if (r.last_seq !== null && lastAfter.get(Number(r.last_seq)) !== stored) {
          violations.push({
            invariant: 'last balance_after',
            subject: r.id,
            detail: `stored ${stored}, last posting says ${lastAfter.get(Number(r.last_seq))}`,
          });
        }
      }
      return violations;
    },
  },
];

/**
 * Recomputes every balance from postings and checks every invariant of the design. Read-only:
 * safe to run beside a live service.
 */
export async function verifyLedger(db: Db, extraChecks: InvariantCheck[] = []): Promise<VerifyReport> {
  const violations: Violation[] = [];
  const checks: VerifyReport['checks'] = [];
  for (const check of [...ledgerChecks, ...extraChecks]) {
    const found = await check.run(db);
    checks.push({ name: check.name, violations: found.length });
    violations.push(...found);
  }

  const counts = await db
    .selectNoFrom([
      sql<number>`(select count(*) from ledger_accounts)`.as('accounts'),
      sql<number>`(select count(*) from ledger_transactions)`.as('transactions'),
      sql<number>`(select count(*) from ledger_postings)`.as('postings'),
    ])
    .executeTakeFirstOrThrow();
  const customer = await db
    .selectFrom('ledger_accounts')
    .select([
      sql<number>`coalesce(sum(case when id like '%:balance' then balance else 0 end), 0)`.as('available'),
      sql<number>`coalesce(sum(case when id like '%:held' then balance else 0 end), 0)`.as('held'),
    ])
    .where('customer_id', 'is not', null)
    .executeTakeFirstOrThrow();
  const derived = await db
    .selectFrom('ledger_accounts as a')
    .leftJoin('ledger_postings as p', 'p.account_id', 'a.id')
    .select(['a.id', 'a.kind', sql<number>`coalesce(sum(p.amount), 0)`.as('total')])
    .where('a.customer_id', 'is', null)
    .groupBy(['a.id', 'a.kind'])
    .orderBy('a.id')
    .execute();
  const platform: Record<string, number> = {};
  for (const d of derived) platform[d.id] = Number(d.total) * naturalSign(d.kind as AccountKind) + 0; // + 0: no -0 in reports

  return {
    accounts: Number(counts.accounts),
    transactions: Number(counts.transactions),
    postings: Number(counts.postings),
    customerAvailable: Number(customer.available),
    customerHeld: Number(customer.held),
    platform,
    checks,
    violations,
  };
}
