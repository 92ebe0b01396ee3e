import { Redis } from 'ioredis';
import type { Clock } from '../domain/clock.js';

export interface RateDecision {
  allowed: boolean;
  count: number;
  retryAfterSeconds: number;
}

/**
 * Fixed one-minute windows on the service clock (so the sandbox clock can move past them).
 * `hit` counts an attempt; `peek` reads the count without adding to it (failed logins are
 * counted only when they fail).
 */
export interface RateLimiter {
  hit(key: string, limit: number): Promise<RateDecision>;
  peek(key: string, limit: number): Promise<RateDecision>;
  /** Takes back one `hit` of the current window (an attempt that turned out not to count). */
  release(key: string): Promise<void>;
  close(): Promise<void>;
}

const WINDOW_MS = 60_000;

function windowOf(clock: Clock): { index: number; retryAfterSeconds: number } {
  const now = clock.nowMs();
  const index = Math.floor(now / WINDOW_MS);
  return { index, retryAfterSeconds: Math.max(1, Math.ceil(((index + 1) * WINDOW_MS - now) / 1000)) };
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly counts = new Map<string, number>();
  private currentWindow = -1;

  constructor(private readonly clock: Clock) {}

  private bucket(key: string): { counter: string; retryAfterSeconds: number } {
    const { index, retryAfterSeconds } = windowOf(this.clock);
    if (index !== this.currentWindow) {
      this.counts.clear();
      this.currentWindow = index;
    }
    return { counter: key, retryAfterSeconds };
  }

  async hit(key: string, limit: number): Promise<RateDecision> {
    const { counter, retryAfterSeconds } = this.bucket(key);
    const count = (this.counts.get(counter) ?? 0) + 1;
    this.counts.set(counter, count);
    return { allowed: count <= limit, count, retryAfterSeconds };
  }

  async peek(key: string, limit: number): Promise<RateDecision> {
    const { counter, retryAfterSeconds } = this.bucket(key);
    const count = this.counts.get(counter) ?? 0;
    return { allowed: count < limit, count, retryAfterSeconds };
  }

  async release(key: string): Promise<void> {
    const { counter } = this.bucket(key);
    this.counts.set(counter, Math.max(0, (this.counts.get(counter) ?? 0) - 1));
  }

  async close(): Promise<void> {}
}

/** Shared counters so several API processes enforce one limit. */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly clock: Clock,
    private readonly prefix = 'topup:rl:',
  ) {
    // A stalled Redis must fail the check (503) within seconds, not hold every sign-in and recharge.
    this.redis = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: false, commandTimeout: 2_000 });
  }

  private key(key: string): { redisKey: string; retryAfterSeconds: number } {
    const { index, retryAfterSeconds } = windowOf(this.clock);
    return { redisKey: `${this.prefix}${key}:${index}`, retryAfterSeconds };
  }

  async hit(key: string, limit: number): Promise<RateDecision> {
    const { redisKey, retryAfterSeconds } = this.key(key);
    const [[, count]] = (await this.redis
      .multi()
      .incr(redisKey)
      .pexpire(redisKey, WINDOW_MS * 2)
      .exec()) as [[unknown, number]];
    return { allowed: count <= limit, count, retryAfterSeconds };
  }

  async peek(key: string, limit: number): Promise<RateDecision> {
    const { redisKey, retryAfterSeconds } = this.key(key);
    const count = Number((await this.redis.get(redisKey)) ?? 0);
    return { allowed: count < limit, count, retryAfterSeconds };
  }

  async release(key: string): Promise<void> {
    const { redisKey } = this.key(key);
    const count = await this.redis.decr(redisKey);
    // The window turned between hit and release: do not leave a negative count behind.
    if (count < 0) await this.redis.incr(redisKey);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
