import type { Language } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Executor } from '../store/database.js';
import type { RefundEventsTable, RefundsTable } from '../store/schema.js';
import { localizeNote } from './timeline-notes.js';

export type RefundStatus =
  | 'submitted'
  | 'under_review'
  | 'info_requested'
  | 'approved'
  | 'rejected'
  | 'processing'
  | 'succeeded'
  | 'failed'
  | 'cancelled';

export type RefundReason = 'not_credited' | 'duplicate_charge' | 'charged_but_failed' | 'unused_balance' | 'other';

export async function addRefundEvent(
  trx: Executor,
  event: { refundId: string; status: RefundStatus; actor: string; note: string | null; at: Date },
): Promise<void> {
  await trx
    .insertInto('refund_events')
    .values({
      id: newId('rfd', event.at.getTime()).replace('rfd_', 'rfe_'),
      refund_id: event.refundId,
      status: event.status,
      actor: event.actor,
      note: event.note,
      at: event.at.toISOString(),
    })
    .execute();
}

export async function findRefund(db: Executor, id: string): Promise<RefundsTable | undefined> {
  return db.selectFrom('refunds').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function refundTimeline(db: Executor, refundIds: string[]): Promise<Map<string, RefundEventsTable[]>> {
  const out = new Map<string, RefundEventsTable[]>();
  if (refundIds.length === 0) return out;
  const rows = await db.selectFrom('refund_events').selectAll().where('refund_id', 'in', refundIds).orderBy('id').execute();
  for (const r of rows) out.set(r.refund_id, [...(out.get(r.refund_id) ?? []), r]);
  return out;
}

const CARD_PROVIDERS = /unionpay|card/;

/** When the money should arrive, as the customer is told: wallets in minutes, cards in days. */
export function arrivalEstimate(refund: RefundsTable, language: Language): string | null {
  if (refund.status === 'succeeded' || refund.status === 'rejected' || refund.status === 'cancelled') return null;
  if (refund.destination === 'balance' || refund.fallback === 'balance') {
    return language === 'en' ? 'Credited to your Topup balance at once' : '立即退回至充值账户余额';
  }
  if (CARD_PROVIDERS.test(refund.provider)) {
    return language === 'en' ? 'Within 1–3 business days to your card' : '预计 1-3 个工作日退回原银行卡';
  }
  return language === 'en' ? 'Within minutes to your wallet' : '预计数分钟内退回原支付账户';
}

export function toRefundView(refund: RefundsTable, timeline: RefundEventsTable[], language: Language) {
  return {
    id: refund.id,
    recharge_id: refund.recharge_id,
    amount: Number(refund.amount),
    currency: 'CNY' as const,
    reason: refund.reason as RefundReason,
    status: refund.status as RefundStatus,
    destination: refund.destination as 'original' | 'balance',
    automatic: refund.origin === 'automatic',
    description: refund.description,
    failure_reason: refund.failure_reason,
    rejection_reason: refund.rejection_reason,
    fallback: refund.fallback,
    paid_at: refund.paid_at,
    channel_txn_no: refund.channel_txn_no,
    sla_due_at: refund.sla_due_at,
    arrival_estimate: arrivalEstimate(refund, language),
    timeline: timeline.map((e) => ({ at: e.at, status: e.status as RefundStatus, actor: e.actor, note: localizeNote(e.note, language) })),
    created_at: refund.created_at,
    updated_at: refund.updated_at,
    succeeded_at: refund.succeeded_at,
  };
}
