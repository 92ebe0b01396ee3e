import { describe, expect, it } from 'vitest';
import { newId } from './ids.js';

describe('newId', () => {
  it('starts with its prefix and a lowercase 26-char body', () => {
    for (const prefix of ['usr', 'rch', 'rfd', 'txn', 'job'] as const) {
      const id = newId(prefix);
      expect(id).toMatch(new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`));
    }
  });

  it('encodes the time first, so ids from later milliseconds sort after earlier ones', () => {
    const base = Date.UTC(2025, 0, 1);
    const earlier = newId('rch', base);
    const later = newId('rch', base + 1);
    const muchLater = newId('rch', base + 86_400_000);
    expect(earlier < later).toBe(true);
    expect(later < muchLater).toBe(true);
    // Same time prefix for the same millisecond.
    expect(newId('rch', base).slice(0, 14)).toBe(earlier.slice(0, 14));
  });

  it('is unique and strictly increasing over 10k ids in the same millisecond', () => {
    const ms = Date.UTC(2025, 5, 1, 12, 0, 0, 123);
    const ids = Array.from({ length: 10_000 }, () => newId('txn', ms));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) {
      const previous = ids[i - 1] ?? '';
      const current = ids[i] ?? '';
      if (!(previous < current)) throw new Error(`ids out of order at ${i}: ${previous} !< ${current}`);
    }
    expect([...ids].sort()).toEqual(ids);
  });

  it('is unique when generated from the real clock as fast as possible', () => {
    const ids = Array.from({ length: 10_000 }, () => newId('job'));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});
