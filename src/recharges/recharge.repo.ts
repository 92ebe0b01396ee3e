import type { PaymentMethod } from '../channels/payment-channel.js';
import { customerMessage, type ErrorCode, FAILURES, type Language } from '../domain/errors.js';
import type { Executor } from '../store/database.js';
import { reusableQuery } from '../store/reusable-query.js';
import type { RechargeAttemptsTable, RechargesTable, RefundsTable } from '../store/schema.js';

export type RechargeStatus = 'pending' | 'succeeded' | 'failed' | 'closed';

const METHOD_NAMES: Record<PaymentMethod, { zh: string; en: string }> = {
  bank_card: { zh: '银行卡', en: 'bank card' },
  credit_card: { zh: '信用卡', en: 'credit card' },
  alipay: { zh: '支付宝', en: 'Alipay' },
  wechat_pay: { zh: '微信支付', en: 'WeChat Pay' },
};

/** Codes after which "use another payment method" is useful advice, naming which ones work. */
const SUGGEST_OTHER_METHOD = new Set<ErrorCode>([
  'SYSTEM_BUSY',
  'CHANNEL_MAINTENANCE',
  'CHANNEL_TIMEOUT',
  'INSUFFICIENT_FUNDS',
  'LIMIT_EXCEEDED',
  'CARD_NOT_SUPPORTED',
  'ACCOUNT_INFO_INVALID',
]);

export function methodName(method: PaymentMethod, language: Language): string {
  return language === 'en' ? METHOD_NAMES[method].en : METHOD_NAMES[method].zh;
}

/** The taxonomy message plus, where it helps, the payment methods that work right now. */
export function failureMessage(code: ErrorCode, language: Language, alternatives: PaymentMethod[]): string {
  const base = customerMessage(code, language);
  if (!SUGGEST_OTHER_METHOD.has(code) || alternatives.length === 0) return base;
  const names = alternatives.map((m) => methodName(m, language));
  return language === 'en' ? `${base} Available now: ${names.join(', ')}.` : `${base}当前可用:${names.join('、')}。`;
}

export interface RenderOptions {
  language: Language;
  /** Operational methods other than the order's own. */
  alternatives: PaymentMethod[];
}

export function failureOf(row: RechargesTable, options: RenderOptions) {
  if (!row.failure_code) return null;
  const code = row.failure_code as ErrorCode;
  const alternatives = options.alternatives.filter((m) => m !== row.method);
  return {
    code,
    message: failureMessage(code, options.language, alternatives),
    retryable: row.failure_retryable === null ? FAILURES[code].retryable : row.failure_retryable === 1,
    alternatives: SUGGEST_OTHER_METHOD.has(code) ? alternatives : [],
  };
}

export function toRechargeView(row: RechargesTable, refundedAmount: number, options: RenderOptions) {
  return {
    id: row.id,
    status: row.status as RechargeStatus,
    amount: Number(row.amount),
    currency: 'CNY' as const,
    method: row.method as PaymentMethod,
    provider: row.provider,
    failure: failureOf(row, options),
    payment_method: { masked: row.source_masked },
    auto_recharge: row.is_auto === 1,
    created_at: row.created_at,
    succeeded_at: row.succeeded_at,
    expires_at: row.expires_at,
    refunded_amount: refundedAmount,
  };
}

export function toAttemptView(row: RechargeAttemptsTable) {
  return {
    id: row.id,
    provider: row.provider,
    status: row.status as 'processing' | 'succeeded' | 'failed' | 'unknown',
    channel_txn_id: row.channel_txn_id,
    failure_code: row.failure_code,
    created_at: row.created_at,
    resolved_at: row.resolved_at,
  };
}

// Read several times per recharge: compiled once (see reusable-query.ts).
const selectRecharge = reusableQuery<RechargesTable>(1, (db, value) => db.selectFrom('recharges').selectAll().where('id', '=', value(0)));

export async function findRecharge(db: Executor, id: string): Promise<RechargesTable | undefined> {
  return (await selectRecharge(db, [id])).rows[0];
}

/** Sum of succeeded refunds per recharge (what `refunded_amount` reports). */
export async function refundedAmounts(db: Executor, rechargeIds: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (rechargeIds.length === 0) return out;
  const rows = await db
    .selectFrom('refunds')
    .select(['recharge_id', (eb) => eb.fn.sum<number>('amount').as('total')])
    .where('recharge_id', 'in', rechargeIds)
    .where('status', '=', 'succeeded')
    .groupBy('recharge_id')
    .execute();
  for (const r of rows) out.set(r.recharge_id, Number(r.total));
  return out;
}

export async function attemptsOf(db: Executor, rechargeId: string): Promise<RechargeAttemptsTable[]> {
  return db.selectFrom('recharge_attempts').selectAll().where('recharge_id', '=', rechargeId).orderBy('id').execute();
}

export async function refundsOf(db: Executor, rechargeId: string): Promise<RefundsTable[]> {
  return db.selectFrom('refunds').selectAll().where('recharge_id', '=', rechargeId).orderBy('id', 'desc').execute();
}
