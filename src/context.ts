import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { OffsetClock } from './domain/clock.js';
import type { Metrics } from './ops/metrics.js';
import type { RateLimiter } from './ops/rate-limiter.js';
import type { Store } from './store/database.js';

/** What every use case may reach: built once by the composition root (main.ts). */
export interface Context {
  config: Config;
  store: Store;
  clock: OffsetClock;
  log: Logger;
  metrics: Metrics;
  limiter: RateLimiter;
  /** This deployment's base URL as channels should call it; set once the HTTP server listens. */
  publicUrl: { current: string | null };
}
