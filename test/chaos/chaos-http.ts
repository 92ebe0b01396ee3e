import type { Cluster } from './cluster.js';

export type Json = Record<string, unknown>;

export interface Res {
  status: number;
  body: Json;
  text: string;
  replayed: boolean;
}

export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
export const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
export const items = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface CallOptions {
  body?: unknown;
  token?: string;
  key?: string;
  /** Give up after this many network failures (the process answering died or is restarting). */
  tries?: number;
}

/**
 * HTTP against whichever API process is alive. A network failure (connection refused or reset
 * by a SIGKILL) is retried on another process with the same Idempotency-Key: exactly what a
 * client behind a load balancer does. Returns null when every try failed.
 */
export class ChaosHttp {
  networkErrors = 0;
  requests = 0;
  private turn = 0;

  constructor(private readonly cluster: Cluster) {}

  async call(method: string, path: string, options: CallOptions = {}): Promise<Res | null> {
    const tries = options.tries ?? 60;
    for (let i = 0; i < tries; i++) {
      const live = this.cluster.liveApis();
      const target = live.length > 0 ? live[this.turn++ % live.length] : undefined;
      if (!target) {
        await sleep(250);
        continue;
      }
      const headers: Record<string, string> = {};
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (options.key) headers['idempotency-key'] = options.key;
      this.requests += 1;
      try {
        const response = await fetch(`${target.url}${path}`, {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: AbortSignal.timeout(60_000),
        });
        const text = await response.text();
        let body: Json = {};
        try {
          const parsed: unknown = text ? JSON.parse(text) : {};
          body = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Json) : { value: parsed };
        } catch {
          body = { raw: text };
        }
        return { status: response.status, body, text, replayed: response.headers.get('idempotent-replayed') === 'true' };
      } catch {
        this.networkErrors += 1;
        await sleep(250);
      }
    }
    return null;
  }
}
