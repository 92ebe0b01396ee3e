import type { CardDetails, PaymentMethod, PaymentSource, WalletDetails } from '../channels/payment-channel.js';
import { AppError } from '../domain/errors.js';

/** Pure checks made before any channel is called: they refuse the request, no order is created. */

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * Card types not enabled for online recharge: American Express (34, 37) and JCB (3528–3589).
 * UnionPay (62), Visa (4) and Mastercard (51–55, 2221–2720) are accepted.
 */
export function cardSupported(digits: string): boolean {
  if (/^3[47]/.test(digits)) return false;
  const four = Number(digits.slice(0, 4));
  if (four >= 3528 && four <= 3589) return false;
  return /^(62|4|5[1-5]|2[2-7])/.test(digits);
}

/** Masks a card number to first 6 / last 4 (PCI DSS 3.4.1); the full number is never stored. */
export function maskCard(digits: string): string {
  return `${digits.slice(0, 6)}${'*'.repeat(Math.max(0, digits.length - 10))}${digits.slice(-4)}`;
}

export function maskWallet(account: string): string {
  const at = account.indexOf('@');
  if (at > 0) return `${account.slice(0, Math.min(2, at))}***${account.slice(at)}`;
  if (account.length <= 4) return `${account.slice(0, 1)}***`;
  return `${account.slice(0, 3)}****${account.slice(-4)}`;
}

/** "MM/YY": a card is valid through the last day of its expiry month (Asia/Shanghai). */
export function cardExpired(expiry: string, now: Date): boolean {
  const match = /^(\d{2})\/(\d{2})$/.exec(expiry);
  if (!match) return true;
  const month = Number(match[1]);
  const year = 2000 + Number(match[2]);
  const shanghai = new Date(now.getTime() + 8 * 3600_000);
  const nowYear = shanghai.getUTCFullYear();
  const nowMonth = shanghai.getUTCMonth() + 1;
  return year < nowYear || (year === nowYear && month < nowMonth);
}

export interface RawCard {
  card_number: string;
  expiry: string;
  verification_code: string;
  holder_name: string;
}

export interface RawWallet {
  payer_account: string;
}

function fieldError(field: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', `${field}: ${message}`, { errors: [{ field, message }] });
}

/**
 * Turns the request's `payment_method` into a channel source, refusing what no channel could
 * accept. Returns the masked form to store alongside.
 */
export function parsePaymentSource(
  method: PaymentMethod,
  raw: Record<string, unknown>,
  now: Date,
): { source: CardDetails | WalletDetails; masked: string } {
  if (method === 'bank_card' || method === 'credit_card') {
    const card = raw as Partial<RawCard>;
    for (const field of ['card_number', 'expiry', 'verification_code', 'holder_name'] as const) {
      if (typeof card[field] !== 'string') throw fieldError(`payment_method.${field}`, 'is required for card payments');
    }
    const extra = Object.keys(raw).filter((k) => !['card_number', 'expiry', 'verification_code', 'holder_name'].includes(k));
    if (extra.length > 0) throw fieldError(`payment_method.${extra[0]}`, 'unknown field');
    const digits = String(card.card_number).replace(/[\s-]/g, '');
    if (!/^\d{12,19}$/.test(digits) || !luhnValid(digits)) {
      throw new AppError('CARD_NUMBER_INVALID', 'the card number fails its format or checksum');
    }
    if (!/^(0[1-9]|1[0-2])\/\d{2}$/.test(String(card.expiry))) throw fieldError('payment_method.expiry', 'must be MM/YY');
    if (!/^\d{3,4}$/.test(String(card.verification_code))) {
      throw fieldError('payment_method.verification_code', 'must be 3 or 4 digits');
    }
    const holder = String(card.holder_name).trim();
    if (holder.length === 0 || holder.length > 100) throw fieldError('payment_method.holder_name', 'must be 1-100 characters');
    if (cardExpired(String(card.expiry), now)) throw new AppError('CARD_EXPIRED', 'the card expired');
    if (!cardSupported(digits)) throw new AppError('CARD_NOT_SUPPORTED', 'this card type is not enabled for online recharge');
    return {
      source: {
        kind: 'card',
        cardNumber: digits,
        expiry: String(card.expiry),
        verificationCode: String(card.verification_code),
        holderName: holder,
      },
      masked: maskCard(digits),
    };
  }
  const wallet = raw as Partial<RawWallet>;
  const extra = Object.keys(raw).filter((k) => k !== 'payer_account');
  if (extra.length > 0) throw fieldError(`payment_method.${extra[0]}`, 'unknown field');
  if (typeof wallet.payer_account !== 'string' || wallet.payer_account.trim().length === 0 || wallet.payer_account.length > 100) {
    throw fieldError('payment_method.payer_account', 'is required for wallet payments (1-100 characters)');
  }
  return { source: { kind: 'wallet', payerAccount: wallet.payer_account.trim() }, masked: maskWallet(wallet.payer_account.trim()) };
}

export function isCardMethod(method: PaymentMethod): boolean {
  return method === 'bank_card' || method === 'credit_card';
}

export type { PaymentSource };
