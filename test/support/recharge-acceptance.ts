import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { HttpClient } from './http-client.js';
import { runTopupCli } from './processes.js';
import type { TestDatabase } from './test-database.js';

export { type CliResult, runTopupCli } from './processes.js';

/**
 * Helpers for acceptance suites that drive recharges through real `topup` child processes:
 * everything goes through HTTP (including the sandbox providers' own statements) or the CLI,
 * nothing reaches into the store.
 */

export const ADMIN_EMAIL = 'admin@topup.test';
export const ADMIN_PASSWORD = 'admin-password-1';
export const PROVIDERS = ['sandbox_unionpay_a', 'sandbox_unionpay_b', 'sandbox_alipay', 'sandbox_wechat'] as const;

/**
 * The environment of one deployment. Every variable the parent might leak is set explicitly:
 * DATABASE_URL (the parent's points at the server's base database on PostgreSQL), REDIS_URL and
 * TOPUP_PUBLIC_URL (empty = unset; a serve/api process then sends notifications to itself).
 */
export function rechargeEnv(db: TestDatabase, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: db.dataDir,
    DATABASE_URL: db.databaseUrl ?? '',
    REDIS_URL: '',
    TOPUP_PUBLIC_URL: '',
    TOPUP_SANDBOX: '1',
    TOPUP_SANDBOX_FAULTS: '',
    TOPUP_ADMIN_EMAIL: ADMIN_EMAIL,
    TOPUP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    TOPUP_AUTH_RATE_PER_MIN: '100000',
    TOPUP_RECHARGE_RATE_PER_MIN: '100000',
    ...extra,
  };
}

/** `topup verify` as a separate process on the deployment's database: exit 0 and 'verify: clean'. */
export async function expectVerifyClean(env: Record<string, string>): Promise<void> {
  const verify = await runTopupCli(['verify'], env);
  expect(verify.output).toContain('verify: clean');
  expect(verify.code, verify.output).toBe(0);
}

export async function adminLogin(http: HttpClient): Promise<string> {
  const res = await http.post('/v1/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
  if (res.status !== 200) throw new Error(`admin login failed: ${res.status} ${res.text}`);
  return res.body.token as string;
}

export async function registerCustomer(http: HttpClient): Promise<{ id: string; token: string }> {
  const res = await http.post('/v1/auth/register', { email: `c-${randomUUID()}@example.com`, password: 'customer-pass-1' });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text}`);
  return { id: res.body.user.id as string, token: res.body.token as string };
}

export interface ClockState {
  now: string;
  offset_seconds: number;
}

export async function serviceClock(http: HttpClient, adminToken: string): Promise<ClockState> {
  const res = await http.get('/v1/sandbox/clock', { token: adminToken });
  if (res.status !== 200) throw new Error(`clock read failed: ${res.status} ${res.text}`);
  return { now: res.body.now as string, offset_seconds: res.body.offset_seconds as number };
}

/** Moves the service clock and waits for the jobs that became due (the endpoint runs them before answering). */
export async function advanceClock(http: HttpClient, adminToken: string, seconds: number): Promise<ClockState> {
  const res = await http.post('/v1/sandbox/clock/advance', { seconds }, { token: adminToken });
  if (res.status !== 200) throw new Error(`clock advance failed: ${res.status} ${res.text}`);
  return { now: res.body.now as string, offset_seconds: res.body.offset_seconds as number };
}

/** Every item of a `{data, next_cursor}` list, following cursors to the end. */
export async function listAll<T>(http: HttpClient, pathname: string, token: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const sep = pathname.includes('?') ? '&' : '?';
    const url: string = cursor ? `${pathname}${sep}limit=100&cursor=${encodeURIComponent(cursor)}` : `${pathname}${sep}limit=100`;
    const res = await http.get(url, { token });
    if (res.status !== 200) throw new Error(`${pathname} failed: ${res.status} ${res.text}`);
    items.push(...(res.body.data as T[]));
    cursor = res.body.next_cursor as string | null;
    if (!cursor) return items;
  }
  throw new Error(`${pathname}: pages never ended`);
}

export interface StatementLine {
  provider: string;
  type: 'payment' | 'refund';
  channelTxnId: string;
  merchantRef: string;
  amount: number;
}

/** Calendar days (Asia/Shanghai) from `fromIso` to `toIso`, inclusive — the statements' day. */
export function shanghaiDays(fromIso: string, toIso: string): string[] {
  const day = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);
  const days: string[] = [];
  const last = day(Date.parse(toIso));
  for (let ms = Date.parse(fromIso); ; ms += 86_400_000) {
    const d = day(ms);
    if (!days.includes(d)) days.push(d);
    if (d >= last) return days;
  }
}

/** The sandbox providers' own books (their daily CSV statements) over `days`: what the channels collected and refunded. */
export async function channelBooks(http: HttpClient, adminToken: string, days: string[]): Promise<StatementLine[]> {
  const lines: StatementLine[] = [];
  for (const provider of PROVIDERS) {
    for (const date of days) {
      const res = await http.get(`/v1/admin/providers/${provider}/statement?date=${date}`, { token: adminToken });
      if (res.status !== 200) throw new Error(`statement ${provider} ${date}: ${res.status} ${res.text}`);
      const [header, ...rows] = res.text.trim().split('\n');
      expect(header).toBe('type,channel_txn_id,merchant_ref,amount,currency,time');
      for (const row of rows) {
        const [type, channelTxnId, merchantRef, amount, currency] = row.split(',');
        expect(currency).toBe('CNY');
        expect(type === 'payment' || type === 'refund', row).toBe(true);
        lines.push({
          provider,
          type: type as 'payment' | 'refund',
          channelTxnId: channelTxnId ?? '',
          merchantRef: merchantRef ?? '',
          amount: Number(amount),
        });
      }
    }
  }
  return lines;
}

export interface RechargeDetail {
  id: string;
  status: 'pending' | 'succeeded' | 'failed' | 'closed';
  amount: number;
  refunded_amount: number;
  attempts: { id: string; provider: string; status: string; channel_txn_id: string | null }[];
  refunds: {
    id: string;
    amount: number;
    reason: string;
    status: string;
    destination: string;
    automatic: boolean;
    timeline: { at: string; status: string; actor: string }[];
  }[];
}

export interface Movement {
  amount: number;
  kind: string;
  ref: string | null;
}

export interface MoneyAudit {
  orders: RechargeDetail[];
  collections: StatementLine[];
  balance: number;
}

/**
 * The end-to-end money check of one customer, from the outside: the channels' statements say
 * what was collected; every collection must have ended exactly one way — credited (it is the
 * succeeded attempt's transaction of a succeeded order, whose single ledger credit is on the
 * balance) or given back (an automatic refund of that order that succeeded, and whose money the
 * channel's books show going back). Never both, never neither. The balance is the sum of the
 * succeeded orders.
 */
export async function auditCustomerMoney(
  http: HttpClient,
  adminToken: string,
  customerToken: string,
  window: { from: string; to: string },
): Promise<MoneyAudit> {
  const summaries = await listAll<{ id: string }>(http, '/v1/recharges', customerToken);
  const orders: RechargeDetail[] = [];
  for (const s of summaries) {
    const res = await http.get(`/v1/recharges/${s.id}`, { token: customerToken });
    expect(res.status, res.text).toBe(200);
    orders.push(res.body as unknown as RechargeDetail);
  }
  const books = await channelBooks(http, adminToken, shanghaiDays(window.from, window.to));
  const collections = books.filter((l) => l.type === 'payment');
  const payouts = books.filter((l) => l.type === 'refund');
  const movements = await listAll<Movement>(http, '/v1/balance/transactions', customerToken);
  const balanceRes = await http.get('/v1/balance', { token: customerToken });
  expect(balanceRes.status).toBe(200);
  const balance = balanceRes.body.available as number;

  // Every collection belongs to an attempt of one of this customer's orders (fresh database, one customer).
  const orderOfAttempt = new Map<string, RechargeDetail>();
  for (const o of orders) for (const a of o.attempts) orderOfAttempt.set(a.id, o);
  for (const c of collections)
    expect(orderOfAttempt.has(c.merchantRef), `collection ${c.channelTxnId} of unknown attempt ${c.merchantRef}`).toBe(true);
  expect(new Set(collections.map((c) => `${c.provider}:${c.channelTxnId}`)).size).toBe(collections.length);

  for (const order of orders) {
    const label = `order ${order.id} (${order.amount}, ${order.status})`;
    const attemptIds = new Set(order.attempts.map((a) => a.id));
    const collected = collections.filter((c) => attemptIds.has(c.merchantRef));
    for (const c of collected) expect(c.amount, label).toBe(order.amount);
    const credits = movements.filter((m) => m.ref === order.id && m.kind === 'recharge');
    const refunds = order.refunds.filter((r) => r.automatic);

    if (order.status === 'succeeded') {
      // Credited exactly once, with the money of one specific collection.
      expect(
        credits.map((m) => m.amount),
        label,
      ).toEqual([order.amount]);
      const winner = order.attempts.filter((a) => a.status === 'succeeded');
      expect(winner, label).toHaveLength(1);
      expect(
        collected.map((c) => c.channelTxnId),
        label,
      ).toContain(winner[0]?.channel_txn_id);
    } else {
      expect(credits, label).toEqual([]);
    }
    // Every other collection went back: one automatic refund each, succeeded, to the original method,
    // and the channel's books show the money leaving.
    const credited = order.status === 'succeeded' ? 1 : 0;
    expect(refunds, label).toHaveLength(collected.length - credited);
    for (const r of refunds) {
      expect(r, label).toMatchObject({ amount: order.amount, status: 'succeeded', destination: 'original' });
      expect(r.reason, label).toBe(order.status === 'succeeded' ? 'duplicate_charge' : 'charged_but_failed');
      const paidBack = payouts.filter((p) => p.merchantRef === r.id);
      expect(
        paidBack.map((p) => p.amount),
        `${label}: refund ${r.id} on the channel's books`,
      ).toEqual([r.amount]);
    }
    expect(order.refunded_amount, label).toBe(refunds.reduce((sum, r) => sum + r.amount, 0));
  }

  const succeededTotal = orders.filter((o) => o.status === 'succeeded').reduce((sum, o) => sum + o.amount, 0);
  expect(balance).toBe(succeededTotal);
  // Nothing else moved the balance (no fallback credit, no stray posting).
  expect(movements.reduce((sum, m) => sum + m.amount, 0)).toBe(balance);
  return { orders, collections, balance };
}
