import { sql } from 'kysely';
import type { Executor } from '../store/database.js';

export interface DashboardOptions {
  /** Days back from `now`, today included. */
  days: number;
  /** The viewer's offset from UTC in minutes (Asia/Shanghai: 480), so "a day" is the viewer's day. */
  utcOffsetMinutes: number;
  now: Date;
}

export interface RechargeDay {
  day: string;
  total: number;
  succeeded: number;
  failed: number;
  pending: number;
  closed: number;
  succeeded_amount: number;
  /** succeeded / (succeeded + failed); null on a day with neither. */
  success_rate: number | null;
}

export interface FailureCount {
  day: string;
  code: string;
  provider: string;
  count: number;
}

export interface RefundDay {
  day: string;
  created: number;
  created_amount: number;
  automatic: number;
  succeeded: number;
  succeeded_amount: number;
  /** Hours from creation to money back, over the refunds that succeeded that day. */
  median_hours_to_money: number | null;
  p90_hours_to_money: number | null;
}

export interface Dashboard {
  from: string;
  to: string;
  utc_offset_minutes: number;
  days: string[];
  recharges: RechargeDay[];
  failures: FailureCount[];
  refunds: RefundDay[];
  refunds_by_status: { status: string; count: number }[];
  /** Applications whose review SLA ran out, per viewer-day of the deadline, and how many are open and late now. */
  sla_breaches: { day: string; count: number }[];
  sla_open_breached: number;
}

const HOUR_MS = 3_600_000;

/**
 * Aggregates stay in SQL per UTC hour (`substr(created_at, 1, 13)` works on both dialects, timestamps
 * being ISO text), so the work grows with hours, not rows; hours are then folded into the viewer's days.
 */
function viewerDay(hourKey: string, offsetMinutes: number): string {
  const ms = Date.parse(`${hourKey}:00:00.000Z`) + offsetMinutes * 60_000;
  return new Date(ms).toISOString().slice(0, 10);
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return Math.round((sorted[index] ?? 0) * 10) / 10;
}

/** Read-only figures for the staff dashboard: recharge success, failures by code and provider, refunds. */
export async function readDashboard(db: Executor, options: DashboardOptions): Promise<Dashboard> {
  const offsetMs = options.utcOffsetMinutes * 60_000;
  const todayLocal = new Date(options.now.getTime() + offsetMs).toISOString().slice(0, 10);
  const firstLocalMidnight = Date.parse(`${todayLocal}T00:00:00.000Z`) - (options.days - 1) * 86_400_000;
  const fromMs = firstLocalMidnight - offsetMs;
  // Hour buckets are UTC; start at the hour containing the viewer's first midnight.
  const from = new Date(Math.floor(fromMs / HOUR_MS) * HOUR_MS).toISOString();
  const to = options.now.toISOString();
  const days: string[] = [];
  for (let i = 0; i < options.days; i++) days.push(new Date(firstLocalMidnight + i * 86_400_000).toISOString().slice(0, 10));
  const inRange = (day: string) => day >= (days[0] ?? '') && day <= todayLocal;
  const hour = sql<string>`substr(created_at, 1, 13)`;

  const rechargeRows = await db
    .selectFrom('recharges')
    .select([hour.as('hour'), 'status', sql<number>`count(*)`.as('n'), sql<number>`sum(amount)`.as('amount')])
    .where('created_at', '>=', from)
    .groupBy([hour, 'status'])
    .execute();
  const recharges = new Map<string, RechargeDay>(
    days.map((day) => [day, { day, total: 0, succeeded: 0, failed: 0, pending: 0, closed: 0, succeeded_amount: 0, success_rate: null }]),
  );
  for (const row of rechargeRows) {
    const day = recharges.get(viewerDay(row.hour, options.utcOffsetMinutes));
    if (!day) continue;
    const n = Number(row.n);
    day.total += n;
    if (row.status === 'succeeded') {
      day.succeeded += n;
      day.succeeded_amount += Number(row.amount ?? 0);
    } else if (row.status === 'failed') day.failed += n;
    else if (row.status === 'pending') day.pending += n;
    else if (row.status === 'closed') day.closed += n;
  }
  for (const day of recharges.values()) {
    const decided = day.succeeded + day.failed;
    day.success_rate = decided === 0 ? null : Math.round((day.succeeded / decided) * 1000) / 1000;
  }

  // Failures per provider come from attempts (an order that failed over has one failed attempt per provider).
  const failureRows = await db
    .selectFrom('recharge_attempts')
    .select([hour.as('hour'), 'provider', 'failure_code', sql<number>`count(*)`.as('n')])
    .where('created_at', '>=', from)
    .where('status', '=', 'failed')
    .groupBy([hour, 'provider', 'failure_code'])
    .execute();
  const failures = new Map<string, FailureCount>();
  for (const row of failureRows) {
    const day = viewerDay(row.hour, options.utcOffsetMinutes);
    if (!inRange(day)) continue;
    const code = row.failure_code ?? 'UNKNOWN';
    const key = `${day}|${code}|${row.provider}`;
    const entry = failures.get(key) ?? { day, code, provider: row.provider, count: 0 };
    entry.count += Number(row.n);
    failures.set(key, entry);
  }

  const refundRows = await db
    .selectFrom('refunds')
    .select([hour.as('hour'), 'origin', sql<number>`count(*)`.as('n'), sql<number>`sum(amount)`.as('amount')])
    .where('created_at', '>=', from)
    .groupBy([hour, 'origin'])
    .execute();
  const refunds = new Map<string, RefundDay>(
    days.map((day) => [
      day,
      {
        day,
        created: 0,
        created_amount: 0,
        automatic: 0,
        succeeded: 0,
        succeeded_amount: 0,
        median_hours_to_money: null,
        p90_hours_to_money: null,
      },
    ]),
  );
  for (const row of refundRows) {
    const day = refunds.get(viewerDay(row.hour, options.utcOffsetMinutes));
    if (!day) continue;
    day.created += Number(row.n);
    day.created_amount += Number(row.amount ?? 0);
    if (row.origin === 'automatic') day.automatic += Number(row.n);
  }
  // Time to money needs each refund's two timestamps; only the refunds that finished in the window.
  const settled = await db
    .selectFrom('refunds')
    .select(['amount', 'created_at', 'succeeded_at'])
    .where('status', '=', 'succeeded')
    .where('succeeded_at', '>=', from)
    .execute();
  const hoursByDay = new Map<string, number[]>();
  for (const row of settled) {
    if (!row.succeeded_at) continue;
    const key = viewerDay(row.succeeded_at.slice(0, 13), options.utcOffsetMinutes);
    const day = refunds.get(key);
    if (!day) continue;
    day.succeeded += 1;
    day.succeeded_amount += Number(row.amount);
    const hours = (Date.parse(row.succeeded_at) - Date.parse(row.created_at)) / HOUR_MS;
    hoursByDay.set(key, [...(hoursByDay.get(key) ?? []), hours]);
  }
  for (const [key, list] of hoursByDay) {
    const day = refunds.get(key);
    if (!day) continue;
    const sorted = [...list].sort((a, b) => a - b);
    day.median_hours_to_money = percentile(sorted, 0.5);
    day.p90_hours_to_money = percentile(sorted, 0.9);
  }

  const byStatus = await db
    .selectFrom('refunds')
    .select(['status', sql<number>`count(*)`.as('n')])
    .groupBy('status')
    .execute();

  const breachRows = await db
    .selectFrom('refunds')
    .select([sql<string>`substr(sla_due_at, 1, 13)`.as('hour'), sql<number>`count(*)`.as('n')])
    .where('sla_breached', '=', 1)
    .where('sla_due_at', '>=', from)
    .groupBy(sql`substr(sla_due_at, 1, 13)`)
    .execute();
  const breaches = new Map<string, number>(days.map((day) => [day, 0]));
  for (const row of breachRows) {
    const day = viewerDay(row.hour, options.utcOffsetMinutes);
    if (breaches.has(day)) breaches.set(day, (breaches.get(day) ?? 0) + Number(row.n));
  }
  const openLate = await db
    .selectFrom('refunds')
    .select(sql<number>`count(*)`.as('n'))
    .where('status', 'in', ['submitted', 'under_review', 'info_requested'])
    .where('sla_due_at', '<', options.now.toISOString())
    .executeTakeFirst();

  return {
    from: new Date(fromMs).toISOString(),
    to,
    utc_offset_minutes: options.utcOffsetMinutes,
    days,
    recharges: [...recharges.values()],
    failures: [...failures.values()].sort((a, b) => a.day.localeCompare(b.day) || b.count - a.count),
    refunds: [...refunds.values()],
    refunds_by_status: byStatus.map((r) => ({ status: r.status, count: Number(r.n) })),
    sla_breaches: [...breaches.entries()].map(([day, count]) => ({ day, count })),
    sla_open_breached: Number(openLate?.n ?? 0),
  };
}
