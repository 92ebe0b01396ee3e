import { sql } from 'kysely';
import type { SandboxTables } from '../../src/channels/sandbox/sandbox.migration.js';
import type { Db } from '../../src/store/database.js';
import { type CliResult, runTopupCli } from '../support/processes.js';

/** Events a customer may legitimately be told more than once about one subject. */
const REPEATABLE_EVENTS = ['refund.info_requested', 'balance.low', 'auto_recharge.failed', 'ticket.replied'];
const TERMINAL_REFUND = ['succeeded', 'failed', 'rejected', 'cancelled'];

export interface CheckResult {
  violations: string[];
  figures: {
    collections: number;
    fenCollected: number;
    fenCredited: number;
    fenRefundedToPayers: number;
    orders: Record<string, number>;
    refunds: Record<string, number>;
    faults: Record<string, number>;
    notifications: number;
  };
}

/** `topup verify` as its own process on the deployment's database. */
export function runVerify(env: Record<string, string>): Promise<CliResult> {
  return runTopupCli(['verify'], env);
}

/** An order's attempts, the channel's view and its resolver jobs: enough to see why it is stuck. */
async function explainOrder(db: Db, id: string): Promise<string> {
  const attempts = await db.selectFrom('recharge_attempts').selectAll().where('recharge_id', '=', id).execute();
  const parts: string[] = [];
  for (const a of attempts) {
    const channel = await db
      .withTables<SandboxTables>()
      .selectFrom('sandbox_payments')
      .select(['status', 'scenario'])
      .where('attempt_id', '=', a.id)
      .executeTakeFirst();
    const jobs = await db
      .selectFrom('jobs')
      .select(['type', 'status', 'payload', 'attempts', 'run_at', 'last_error'])
      .where('payload', 'like', `%${a.id}%`)
      .execute();
    parts.push(
      `attempt ${a.id} ${a.provider} ${a.status} (${a.failure_code ?? '-'}, review ${a.needs_review}, created ${a.created_at}); channel ${channel ? `${channel.status}/${channel.scenario}` : 'none'}; jobs ${jobs.map((j) => `${j.type} ${j.payload} ${j.status}×${j.attempts} at ${j.run_at} ${j.last_error ?? ''}`).join(' | ')}`,
    );
  }
  const order = await db
    .selectFrom('recharges')
    .select(['created_at', 'expires_at', 'amount', 'method'])
    .where('id', '=', id)
    .executeTakeFirst();
  return `${order?.method} ${order?.amount} fen created ${order?.created_at}; ${parts.join('; ') || 'no attempt'}`;
}

function countBy<T>(rows: T[], key: (row: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const row of rows) out[key(row)] = (out[key(row)] ?? 0) + 1;
  return out;
}

/**
 * The run's money, checked against the channels' own books (the sandbox tables are the
 * "other side": what the payers were really charged and paid back):
 * - every collection reached Topup, and ended exactly one way: credited once to a succeeded
 *   order, or refunded once to the payer (or, refused by the payer's bank, to the balance);
 * - Topup never credited or refunded money the channel does not show;
 * - no refund id was paid out twice, every succeeded refund to the original route was paid once;
 * - per provider, the clearing account equals the channel's collections minus its refunds;
 * - no order pending, no refund non-terminal, no dead job;
 * - no customer was told twice about one event.
 */
export async function checkRun(db: Db): Promise<CheckResult> {
  const violations: string[] = [];
  const sandbox = db.withTables<SandboxTables>();
  const collections = await sandbox.selectFrom('sandbox_collections').selectAll().execute();
  const sandboxRefunds = await sandbox.selectFrom('sandbox_refunds').selectAll().execute();
  const payments = await sandbox.selectFrom('sandbox_payments').select(['provider', 'attempt_id', 'amount', 'scenario']).execute();
  const ours = await db.selectFrom('channel_transactions').selectAll().execute();
  const orders = await db.selectFrom('recharges').select(['id', 'status', 'amount']).execute();
  const refunds = await db
    .selectFrom('refunds')
    .select(['id', 'status', 'amount', 'destination', 'fallback', 'origin', 'reason', 'recharge_id', 'provider'])
    .execute();
  const credits = await db
    .selectFrom('ledger_transactions')
    .select(['ref', sql<number>`count(*)`.as('n')])
    .where('kind', '=', 'recharge')
    .groupBy('ref')
    .execute();
  const creditCount = new Map(credits.map((c) => [c.ref ?? '', Number(c.n)]));
  const orderById = new Map(orders.map((o) => [o.id, o]));
  const refundById = new Map(refunds.map((r) => [r.id, r]));
  const ourByTxn = new Map(ours.map((t) => [`${t.provider}:${t.channel_txn_id}`, t]));
  const paidOut = new Map<string, number>();
  for (const r of sandboxRefunds) {
    if (r.status === 'processing' || r.status === 'succeeded') paidOut.set(r.refund_id, (paidOut.get(r.refund_id) ?? 0) + 1);
  }

  let fenCollected = 0;
  let fenCredited = 0;
  const creditedOrders = new Map<string, number>();
  for (const c of collections) {
    const amount = Number(c.amount);
    fenCollected += amount;
    const t = ourByTxn.get(`${c.provider}:${c.channel_txn_id}`);
    if (!t) {
      violations.push(`collection ${c.provider}:${c.channel_txn_id} (${amount} fen, attempt ${c.attempt_id}) never reached Topup`);
      continue;
    }
    if (Number(t.amount) !== amount) violations.push(`collection ${c.channel_txn_id}: channel ${amount} fen, Topup ${t.amount} fen`);
    if (t.disposition === 'credited') {
      const order = orderById.get(t.recharge_id);
      if (order?.status !== 'succeeded')
        violations.push(`collection ${c.channel_txn_id} credited to order ${t.recharge_id} in status ${order?.status}`);
      creditedOrders.set(t.recharge_id, (creditedOrders.get(t.recharge_id) ?? 0) + 1);
      fenCredited += amount;
    } else if (t.disposition === 'refund') {
      const refund = t.refund_id ? refundById.get(t.refund_id) : undefined;
      if (!refund) {
        violations.push(`collection ${c.channel_txn_id} marked refunded without a refund`);
        continue;
      }
      if (Number(refund.amount) !== amount)
        violations.push(`collection ${c.channel_txn_id}: ${amount} fen, refund ${refund.id} ${refund.amount} fen`);
      const back = refund.status === 'succeeded' || (refund.status === 'failed' && refund.fallback === 'balance');
      if (!back)
        violations.push(`collection ${c.channel_txn_id}: its refund ${refund.id} ended ${refund.status} (fallback ${refund.fallback})`);
    } else {
      violations.push(`collection ${c.channel_txn_id}: disposition ${t.disposition}`);
    }
  }
  const collected = new Set(collections.map((c) => `${c.provider}:${c.channel_txn_id}`));
  for (const t of ours) {
    if (!collected.has(`${t.provider}:${t.channel_txn_id}`))
      violations.push(`Topup recorded ${t.provider}:${t.channel_txn_id}, the channel never collected it`);
  }

  for (const o of orders) {
    const credited = creditedOrders.get(o.id) ?? 0;
    const ledger = creditCount.get(o.id) ?? 0;
    if (o.status === 'pending') violations.push(`order ${o.id} is still pending: ${await explainOrder(db, o.id)}`);
    if (o.status === 'succeeded' && (credited !== 1 || ledger !== 1)) {
      violations.push(`order ${o.id} succeeded with ${credited} credited collections and ${ledger} ledger credits`);
    }
    if (o.status !== 'succeeded' && (credited !== 0 || ledger !== 0)) {
      violations.push(`order ${o.id} is ${o.status} but has ${credited} credited collections and ${ledger} ledger credits`);
    }
  }

  let fenRefundedToPayers = 0;
  for (const r of refunds) {
    if (!TERMINAL_REFUND.includes(r.status)) violations.push(`refund ${r.id} (${r.origin}, ${r.reason}) is still ${r.status}`);
    const payouts = paidOut.get(r.id) ?? 0;
    if (payouts > 1) violations.push(`refund ${r.id} was paid out ${payouts} times`);
    if (r.status === 'succeeded' && r.destination === 'original' && payouts !== 1) {
      violations.push(`refund ${r.id} succeeded to the original route with ${payouts} channel payouts`);
    }
    if (r.status !== 'succeeded' && payouts > 0 && r.fallback !== 'balance') {
      violations.push(`refund ${r.id} is ${r.status} but the channel paid it out`);
    }
  }
  for (const s of sandboxRefunds) {
    if (s.status !== 'succeeded') continue;
    fenRefundedToPayers += Number(s.amount);
    const r = refundById.get(s.refund_id);
    if (!r) violations.push(`the channel paid out ${s.refund_id}, which Topup does not know`);
    else if (Number(r.amount) !== Number(s.amount)) violations.push(`refund ${r.id}: ${r.amount} fen, the channel paid ${s.amount}`);
  }

  // Per provider: what the channel holds for us (collections - refunds paid) is the clearing account.
  const clearing = await db
    .selectFrom('ledger_postings')
    .select(['account_id', sql<number>`coalesce(sum(amount), 0)`.as('total')])
    .where('account_id', 'like', 'channel:%:clearing')
    .groupBy('account_id')
    .execute();
  const providers = new Set([...collections.map((c) => c.provider), ...clearing.map((c) => c.account_id.split(':')[1] ?? '')]);
  for (const provider of providers) {
    const held =
      collections.filter((c) => c.provider === provider).reduce((a, c) => a + Number(c.amount), 0) -
      sandboxRefunds.filter((s) => s.provider === provider && s.status === 'succeeded').reduce((a, s) => a + Number(s.amount), 0);
    const books = Number(clearing.find((c) => c.account_id === `channel:${provider}:clearing`)?.total ?? 0);
    if (books !== held) violations.push(`clearing ${provider}: ledger ${books} fen, channel holds ${held} fen`);
  }

  const dead = await db.selectFrom('jobs').select(['id', 'type', 'last_error']).where('status', '=', 'dead').execute();
  for (const j of dead) violations.push(`job ${j.id} (${j.type}) is dead: ${j.last_error ?? ''}`);

  const duplicateEvents = await db
    .selectFrom('events')
    .select(['type', 'subject_id', sql<number>`count(*)`.as('n')])
    .where('type', 'not in', REPEATABLE_EVENTS)
    .groupBy(['type', 'subject_id'])
    .having(sql`count(*)`, '>', 1)
    .execute();
  for (const d of duplicateEvents) violations.push(`event ${d.type} about ${d.subject_id} was emitted ${d.n} times`);
  const duplicateMessages = await db
    .selectFrom('notifications')
    .select(['customer_id', 'event', 'subject_id', 'channel', sql<number>`count(*)`.as('n')])
    .where('event', 'not in', REPEATABLE_EVENTS)
    .groupBy(['customer_id', 'event', 'subject_id', 'channel'])
    .having(sql`count(*)`, '>', 1)
    .execute();
  for (const d of duplicateMessages)
    violations.push(`customer ${d.customer_id} was told ${d.n} times by ${d.channel}: ${d.event} about ${d.subject_id}`);
  const notifications = await db.selectFrom('notifications').select(sql<number>`count(*)`.as('n')).executeTakeFirst();

  const attempts = await db.selectFrom('recharge_attempts').select(['channel_message']).where('status', '=', 'failed').execute();
  const transientRefunds = sandboxRefunds.filter(
    (s) => s.status === 'transient_failed' || (s.requested_at !== null && s.requested_at > s.created_at),
  );
  const faults: Record<string, number> = {
    ...countBy(
      // Not faults: `declined_source` is a verification code 000 or an invalid wallet the workload chose;
      // `closed_by_merchant` an order the resolver closed at the channel.
      payments.filter((p) => p.scenario !== 'normal' && p.scenario !== 'closed_by_merchant'),
      (p) => p.scenario,
    ),
    busy: attempts.filter((a) => (a.channel_message ?? '').includes('internal error')).length,
    refund_fail: transientRefunds.length,
    refund_refused: sandboxRefunds.filter((s) => s.status === 'refused').length,
  };
  const closedByResolver = payments.filter((p) => p.scenario === 'closed_by_merchant').length;
  if (closedByResolver > 0) faults['(not a fault) orders the resolver closed at the channel'] = closedByResolver;

  return {
    violations,
    figures: {
      collections: collections.length,
      fenCollected,
      fenCredited,
      fenRefundedToPayers,
      orders: countBy(orders, (o) => o.status),
      refunds: countBy(refunds, (r) => `${r.origin}/${r.status}`),
      faults,
      notifications: Number(notifications?.n ?? 0),
    },
  };
}
