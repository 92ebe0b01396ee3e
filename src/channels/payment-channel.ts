import type { ErrorCode } from '../domain/errors.js';

/**
 * The one interface to money outside Topup. Every provider (sandbox, Alipay, WeChat Pay)
 * implements it; channel-specific errors are mapped onto the failure taxonomy here, in the
 * adapter, and nowhere else.
 *
 * Expected outcomes are values (a decline is a `PayResult`); faults are thrown
 * `ChannelFault`s (busy, timeout, maintenance) that the router and resolver handle.
 */
export type PaymentMethod = 'bank_card' | 'credit_card' | 'alipay' | 'wechat_pay';
export const PAYMENT_METHODS: readonly PaymentMethod[] = ['bank_card', 'credit_card', 'alipay', 'wechat_pay'];

/** Card details live only in memory for the length of the pay call; never stored or logged. */
export interface CardDetails {
  kind: 'card';
  cardNumber: string;
  expiry: string;
  verificationCode: string;
  holderName: string;
}

export interface WalletDetails {
  kind: 'wallet';
  payerAccount: string;
}

/** A provider's stored-credential token from an earlier payment (auto-recharge): no card data. */
export interface StoredCredential {
  kind: 'credential';
  token: string;
}

export type PaymentSource = CardDetails | WalletDetails | StoredCredential;

export interface PayRequest {
  /** Our attempt id: the channel's idempotency key and the reference it notifies us with. */
  attemptId: string;
  amount: number;
  currency: 'CNY';
  method: PaymentMethod;
  source: PaymentSource;
  description: string;
}

export type PayResult =
  /** Collected now. `credentialToken` lets a later auto-recharge pay without card data. */
  | { outcome: 'succeeded'; channelTxnId: string; paidAt: Date; credentialToken: string | null }
  /** Accepted; the result arrives by notification (or a query). */
  | { outcome: 'processing'; channelTxnId: string | null }
  /** Declined by the channel: nothing collected. `retryable` says whether the customer may simply retry. */
  | { outcome: 'declined'; code: ErrorCode; retryable: boolean; channelMessage: string };

export type ChannelFaultKind =
  /** The channel failed internally; nothing was collected. Safe to try another provider. */
  | 'busy'
  /** The channel is under maintenance; nothing was collected. Safe to try another provider. */
  | 'maintenance'
  /** No answer in time: the outcome is unknown. Never fail over; query until known. */
  | 'timeout';

export class ChannelFault extends Error {
  constructor(
    readonly kind: ChannelFaultKind,
    message: string,
  ) {
    super(message);
    this.name = 'ChannelFault';
  }
}

export interface PaymentStatus {
  /** `paid`: collected; `unpaid`: open, not paid yet; `closed`: will never be paid; `not_found`: the channel never saw it. */
  status: 'paid' | 'unpaid' | 'closed' | 'not_found';
  /** Every collection the channel made for this attempt (more than one is a duplicate charge). */
  collections: { channelTxnId: string; amount: number; paidAt: Date }[];
  credentialToken: string | null;
}

export interface RefundRequest {
  /** Our refund id: the channel's idempotency key for this refund. */
  refundId: string;
  channelTxnId: string;
  amount: number;
}

export type RefundResult =
  | { outcome: 'accepted'; channelRefundId: string }
  /** Refused for good (payer account closed…): fall back to the balance or manual handling. */
  | { outcome: 'refused'; reason: string };

export interface RefundStatus {
  status: 'processing' | 'succeeded' | 'failed' | 'not_found';
  channelRefundId: string | null;
  settledAt: Date | null;
  reason: string | null;
}

export type ChannelNotification =
  | { event: 'payment.succeeded'; notifyId: string; attemptId: string; channelTxnId: string; amount: number; paidAt: Date }
  | { event: 'refund.succeeded' | 'refund.failed'; notifyId: string; refundId: string; channelRefundId: string; amount: number };

export interface StatementLine {
  kind: 'payment' | 'refund';
  channelTxnId: string;
  /** Our reference: the attempt id for payments, the refund id for refunds. */
  merchantRef: string;
  amount: number;
  at: Date;
}

export interface PaymentChannel {
  readonly provider: string;
  readonly methods: readonly PaymentMethod[];
  pay(request: PayRequest): Promise<PayResult>;
  query(attemptId: string): Promise<PaymentStatus>;
  /**
   * Closes an order the channel has not been paid for (WeChat Pay closeorder, Alipay
   * trade.close), so a pay call still on its way can no longer collect; answers the status after
   * closing (a payment that got in first stays as it is). Lets "not found" become final.
   */
  close?(attemptId: string): Promise<PaymentStatus>;
  refund(request: RefundRequest): Promise<RefundResult>;
  queryRefund(refundId: string): Promise<RefundStatus>;
  /**
   * Checks a notification's signature and freshness and parses it. Throws on a forged,
   * altered or stale (replayed) notification.
   */
  verifyNotification(headers: Record<string, string | string[] | undefined>, rawBody: string): Promise<ChannelNotification>;
  /** The channel's own daily statement (CSV), for reconciliation. */
  statement(date: string): Promise<{ csv: string; lines: StatementLine[] }>;
}
