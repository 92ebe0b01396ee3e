import type { Language } from './i18n/language';

/** Fen → `¥1,234.56` (`-¥12.00` for debits), with integer arithmetic only. */
export function formatMoney(fen: number): string {
  const abs = Math.abs(Math.trunc(fen));
  const yuan = Math.floor(abs / 100);
  const cents = abs % 100;
  return `${fen < 0 ? '-' : ''}¥${yuan.toLocaleString('en-US')}.${String(cents).padStart(2, '0')}`;
}

/** A signed movement: `+¥10.00` / `-¥10.00`. */
export function formatSignedMoney(fen: number): string {
  return fen > 0 ? `+${formatMoney(fen)}` : formatMoney(fen);
}

const YUAN = /^(\d{1,9})(?:\.(\d{1,2}))?$/;

/** `"12.3"` → 1230 fen; null when it is not an amount. Decimal strings stop at the edge. */
export function parseYuan(text: string): number | null {
  const match = YUAN.exec(text.trim());
  if (!match) return null;
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(2, '0'));
  return whole * 100 + fraction;
}

/** Fen → the plain decimal the amount inputs show (`1230` → `"12.30"`). */
export function fenToYuanText(fen: number): string {
  return `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;
}

/** A timestamp in the viewer's own time zone. */
export function formatDateTime(iso: string | null | undefined, language: Language): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(language, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(date);
}

/** `3d 4h`, `2h 05m`, `45s`: a duration for SLA countdowns. */
export function formatDuration(ms: number, language: Language): string {
  const total = Math.max(0, Math.floor(Math.abs(ms) / 1000));
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const u = language === 'en' ? { d: 'd', h: 'h', m: 'm', s: 's' } : { d: '天', h: '小时', m: '分', s: '秒' };
  if (days > 0) return `${days}${u.d} ${hours}${u.h}`;
  if (hours > 0) return `${hours}${u.h} ${String(minutes).padStart(2, '0')}${u.m}`;
  if (minutes > 0) return `${minutes}${u.m} ${String(seconds).padStart(2, '0')}${u.s}`;
  return `${seconds}${u.s}`;
}

/** Luhn checksum over the digits of a card number. */
export function luhnValid(cardNumber: string): boolean {
  const digits = cardNumber.replace(/\s+/g, '');
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** `MM/YY`: `format` when malformed, `expired` when the month is over, else null. */
export function expiryProblem(expiry: string, now: Date = new Date()): 'format' | 'expired' | null {
  const match = /^(\d{2})\/(\d{2})$/.exec(expiry.trim());
  if (!match) return 'format';
  const month = Number(match[1]);
  const year = 2000 + Number(match[2]);
  if (month < 1 || month > 12) return 'format';
  // Valid through the last day of the month.
  const endOfMonth = new Date(year, month, 1);
  return endOfMonth.getTime() <= now.getTime() ? 'expired' : null;
}

/** Groups a card number in fours as it is typed. */
export function groupCardNumber(value: string): string {
  return value
    .replace(/\D/g, '')
    .slice(0, 19)
    .replace(/(\d{4})(?=\d)/g, '$1 ');
}
