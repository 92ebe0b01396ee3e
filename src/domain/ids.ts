import { randomBytes } from 'node:crypto';

/**
 * Prefixed, time-sortable ids (`rch_…`, `usr_…`): readable in logs and tickets, and
 * ordered by creation so lists can page by id. 10 chars of millisecond time + 16 random,
 * Crockford base32, monotonic within one process.
 */
export type IdPrefix =
  | 'usr'
  | 'ses'
  | 'txn'
  | 'pur'
  | 'adj'
  | 'job'
  | 'aud'
  | 'rch'
  | 'att'
  | 'rfd'
  | 'evd'
  | 'tkt'
  | 'msg'
  | 'ntf'
  | 'whe'
  | 'whd'
  | 'cmp'
  | 'rec'
  | 'inc'
  | 'ctx'
  | 'req';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastTime = -1;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
  let out = '';
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function nextRandom(ms: number): number[] {
  if (ms === lastTime) {
    // Same millisecond: increment the previous random part so ids stay strictly ordered.
    const next = [...lastRandom];
    for (let i = next.length - 1; i >= 0; i--) {
      const digit = (next[i] ?? 0) + 1;
      if (digit < 32) {
        next[i] = digit;
        break;
      }
      next[i] = 0;
    }
    lastRandom = next;
    return next;
  }
  lastTime = ms;
  lastRandom = [...randomBytes(16)].map((b) => b % 32);
  return lastRandom;
}

export function newId(prefix: IdPrefix, nowMs: number = Date.now()): string {
  const random = nextRandom(nowMs)
    .map((d) => ALPHABET[d])
    .join('');
  return `${prefix}_${encodeTime(nowMs)}${random}`.toLowerCase();
}
