import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';

/** One measured run: throughput and latency, whatever produced it. */
export interface Sample {
  /** Operations per second: 2xx responses, commits or transactions per second. */
  rate: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  /** Operations counted in `rate`. */
  count: number;
  seconds: number;
  /** Non-2xx responses, connection errors and timeouts (HTTP runs); failed operations otherwise. */
  failures: number;
  /** Anything worth keeping next to the numbers (status codes, secondary rates). */
  extra?: Record<string, number | string>;
}

export interface HttpLoad {
  url: string;
  connections: number;
  seconds: number;
  method: 'GET' | 'POST';
  path: string;
  /** Called for every request: answers its headers and body. */
  next: () => { headers: Record<string, string>; body?: string };
}

/** Runs autocannon against one route; every request goes through `next` (fresh keys, rotating tokens). */
export async function runHttp(load: HttpLoad): Promise<Sample> {
  const result = await autocannon({
    url: load.url,
    connections: load.connections,
    duration: load.seconds,
    pipelining: 1,
    timeout: 30,
    requests: [
      {
        method: load.method,
        path: load.path,
        setupRequest: (request) => {
          const { headers, body } = load.next();
          return { ...request, method: load.method, path: load.path, headers, body };
        },
      },
    ],
  });
  const ok = result['2xx'];
  const statuses: Record<string, number | string> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[`status_${code}`] = stat.count ?? 0;
  return {
    rate: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    count: ok,
    seconds: result.duration,
    failures: result.non2xx + result.errors + result.timeouts,
    extra: { errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, ...statuses },
  };
}

/** Round-robin over the customers' tokens. */
export function rotating<T>(items: T[]): () => T {
  let i = 0;
  return () => {
    const item = items[i % items.length] as T;
    i++;
    return item;
  };
}

export function purchaseRequests(tokens: string[]): HttpLoad['next'] {
  const nextToken = rotating(tokens);
  const body = JSON.stringify({ amount: 1, description: 'bench purchase' });
  return () => ({
    headers: {
      authorization: `Bearer ${nextToken()}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body,
  });
}

export function rechargeRequests(tokens: string[]): HttpLoad['next'] {
  const nextToken = rotating(tokens);
  const body = JSON.stringify({
    amount: 10000,
    currency: 'CNY',
    method: 'alipay',
    payment_method: { payer_account: 'bench@example.com' },
  });
  return () => ({
    headers: {
      authorization: `Bearer ${nextToken()}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body,
  });
}

export function readRequests(tokens: string[]): HttpLoad['next'] {
  const nextToken = rotating(tokens);
  return () => ({ headers: { authorization: `Bearer ${nextToken()}` } });
}
