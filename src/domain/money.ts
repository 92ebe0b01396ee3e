/**
 * Money is an integer count of minor units (fen) with a currency. Floating point never
 * enters the domain: decimal strings are parsed at the edge by `parseYuan`.
 */
export type Currency = 'CNY';
export const CURRENCY: Currency = 'CNY';

/** Largest amount we accept anywhere: keeps every sum well inside Number.MAX_SAFE_INTEGER. */
export const MAX_AMOUNT = 1_000_000_000_000; // ¥10,000,000,000.00

export function isFen(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** Formats fen the way customers read it: `¥1,234.56`, with a leading minus for debits. */
export function formatFen(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  const yuan = Math.floor(abs / 100).toLocaleString('en-US');
  const cents = String(abs % 100).padStart(2, '0');
  return `${sign}¥${yuan}.${cents}`;
}

/** Parses a decimal yuan string ("12.3", "1,000.05") into fen; null when it is not exact. */
export function parseYuan(text: string): number | null {
  const match = /^(-)?(\d{1,3}(?:,\d{3})*|\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!match) return null;
  const whole = Number((match[2] ?? '0').replaceAll(',', ''));
  const cents = Number((match[3] ?? '').padEnd(2, '0'));
  const fen = whole * 100 + cents;
  if (!Number.isSafeInteger(fen)) return null;
  return match[1] ? -fen : fen;
}
