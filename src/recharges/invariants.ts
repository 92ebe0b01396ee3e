import { sql } from 'kysely';
import type { InvariantCheck } from '../ledger/verify.js';

/** Invariants of recharges and their refunds, checked by `topup verify` beside the ledger's own. */
export const rechargeChecks: InvariantCheck[] = [
  {
    name: 'per order, refunds (approved, processing, succeeded) never exceed what the channel collected',
    async run(db) {
      const rows = await db
        .selectFrom('recharges as r')
        .select([
          'r.id',
          sql<number>`coalesce((select sum(ct.amount) from channel_transactions ct where ct.recharge_id = r.id), 0)`.as('collected'),
          sql<number>`coalesce((select sum(f.amount) from refunds f where f.recharge_id = r.id and f.status in ('approved', 'processing', 'succeeded')), 0)`.as(
            'refunded',
          ),
        ])
        .execute();
      return rows
        .filter((r) => Number(r.refunded) > Number(r.collected))
        .map((r) => ({ invariant: 'refunded <= collected', subject: r.id, detail: `refunded ${r.refunded}, collected ${r.collected}` }));
    },
  },
  {
    name: 'a succeeded recharge is credited exactly once; any other status never',
    async run(db) {
      const rows = await db
        .selectFrom('recharges as r')
        .select([
          'r.id',
          'r.status',
          sql<number>`(select count(*) from ledger_transactions t where t.ref = r.id and t.kind = 'recharge')`.as('credits'),
        ])
        .execute();
      return rows
        .filter((r) => (r.status === 'succeeded' ? Number(r.credits) !== 1 : Number(r.credits) !== 0))
        .map((r) => ({ invariant: 'credited once', subject: r.id, detail: `status ${r.status}, ${r.credits} credit transactions` }));
    },
  },
  {
    name: 'every collection is either credited or refunded',
    async run(db) {
      const rows = await db
        .selectFrom('channel_transactions as ct')
        .leftJoin('refunds as f', 'f.id', 'ct.refund_id')
        .select(['ct.provider', 'ct.channel_txn_id', 'ct.disposition', 'ct.amount', 'f.amount as refund_amount'])
        .where((eb) =>
          eb.or([
            eb('ct.disposition', 'not in', ['credited', 'refund']),
            eb.and([eb('ct.disposition', '=', 'refund'), eb.or([eb('f.id', 'is', null), eb('f.amount', '<>', eb.ref('ct.amount'))])]),
          ]),
        )
        .execute();
      return rows.map((r) => ({
        invariant: 'collection disposition',
        subject: `${r.provider}:${r.channel_txn_id}`,
        detail: `disposition ${r.disposition}, amount ${r.amount}, refund ${r.refund_amount ?? 'none'}`,
      }));
    },
  },
];
