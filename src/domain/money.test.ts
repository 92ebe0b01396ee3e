import { describe, expect, it } from 'vitest';
import { formatFen, isFen, MAX_AMOUNT, parseYuan } from './money.js';

describe('formatFen', () => {
  it('formats fen the way customers read yuan, with thousands separators', () => {
    expect(formatFen(123456)).toBe('¥1,234.56');
    expect(formatFen(10000)).toBe('¥100.00');
    expect(formatFen(100000000)).toBe('¥1,000,000.00');
    expect(formatFen(MAX_AMOUNT)).toBe('¥10,000,000,000.00');
  });

  it('pads the minor units and handles zero and single fen', () => {
    expect(formatFen(0)).toBe('¥0.00');
    expect(formatFen(1)).toBe('¥0.01');
    expect(formatFen(10)).toBe('¥0.10');
    expect(formatFen(99)).toBe('¥0.99');
    expect(formatFen(100)).toBe('¥1.00');
  });

  it('puts a leading minus before the currency sign for debits', () => {
    expect(formatFen(-123456)).toBe('-¥1,234.56');
    expect(formatFen(-5)).toBe('-¥0.05');
    expect(formatFen(-100)).toBe('-¥1.00');
  });
});

describe('parseYuan', () => {
  it('parses exact decimal yuan strings into fen', () => {
    expect(parseYuan('12.3')).toBe(1230);
    expect(parseYuan('12.30')).toBe(1230);
    expect(parseYuan('12.34')).toBe(1234);
    expect(parseYuan('0.01')).toBe(1);
    expect(parseYuan('0')).toBe(0);
    expect(parseYuan('100')).toBe(10000);
    expect(parseYuan('1,000.05')).toBe(100005);
    expect(parseYuan('1,234,567.89')).toBe(123456789);
    expect(parseYuan('  7.5  ')).toBe(750);
    expect(parseYuan('-1.5')).toBe(-150);
  });

  it('never rounds: more than two decimals is not exact', () => {
    expect(parseYuan('12.345')).toBeNull();
    expect(parseYuan('0.001')).toBeNull();
  });

  it('refuses malformed text', () => {
    for (const text of [
      '',
      ' ',
      '.5',
      '12.',
      'abc',
      '1e3',
      '+1',
      '1.2.3',
      '1,00',
      '12,34.5',
      ',100',
      '1,000,',
      '¥12',
      '12 34',
      '--1',
      '0x10',
    ]) {
      expect(parseYuan(text), text).toBeNull();
    }
  });

  it('refuses amounts outside the safe integer range', () => {
    expect(parseYuan('99999999999999999')).toBeNull();
    // Number.MAX_SAFE_INTEGER is 9007199254740991 fen: one fen more is refused, not rounded.
    expect(parseYuan('90071992547409.91')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseYuan('90071992547409.92')).toBeNull();
  });

  it('round-trips with formatFen (without the currency sign)', () => {
    for (const fen of [0, 1, 99, 100, 123456, 100000000, -250]) {
      const text = formatFen(fen).replace('¥', '');
      expect(parseYuan(text)).toBe(fen);
    }
  });
});

describe('isFen', () => {
  it('accepts safe integers only', () => {
    expect(isFen(100)).toBe(true);
    expect(isFen(-1)).toBe(true);
    expect(isFen(1.5)).toBe(false);
    expect(isFen('100')).toBe(false);
    expect(isFen(Number.NaN)).toBe(false);
    expect(isFen(2 ** 53)).toBe(false);
  });
});
