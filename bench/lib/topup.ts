import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Child, ROOT, freePort, startChild, waitReady } from './processes.js';

export const ADMIN_EMAIL = 'bench-admin@example.com';
export const ADMIN_PASSWORD = 'bench-admin-password';
const CUSTOMER_PASSWORD = 'bench-customer-password';

export interface TopupServer {
  url: string;
  dataDir: string;
  process: Child;
  stop(): Promise<void>;
}

export interface TopupOptions {
  dataDir: string;
  databaseUrl: string | null;
  /** Directory for `node --cpu-prof` output; unset = no profiling. */
  cpuProfDir?: string | null;
  /** Where bench/sql-trace.ts writes its per-statement timings; unset = off. */
  sqlTraceFile?: string | null;
}

/** `topup serve` as a child process, on a fresh data dir, with limits out of the way of the load. */
export async function startTopup(options: TopupOptions): Promise<TopupServer> {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const port = await freePort();
  const args = [
    ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : []),
    '--import',
    'tsx',
    ...(options.sqlTraceFile ? ['--import', pathToFileURL(path.join(ROOT, 'bench/sql-trace.ts')).href] : []),
    path.join(ROOT, 'src/cli/main.ts'),
    'serve',
  ];
  const child = startChild(process.execPath, args, {
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: options.dataDir,
      DATABASE_URL: options.databaseUrl ?? '',
      // As many connections as pgbench gets clients: a purchase holds one for its transaction.
      DATABASE_POOL_SIZE: '32',
      REDIS_URL: '',
      SMTP_URL: '',
      TOPUP_SANDBOX: '1',
      TOPUP_SANDBOX_FAULTS: '',
      TOPUP_PUBLIC_URL: '',
      TOPUP_ADMIN_EMAIL: ADMIN_EMAIL,
      TOPUP_ADMIN_PASSWORD: ADMIN_PASSWORD,
      TOPUP_RECHARGE_RATE_PER_MIN: '1000000000',
      TOPUP_AUTH_RATE_PER_MIN: '1000000000',
      TOPUP_LIMIT_PER_TX: '5000000',
      TOPUP_LIMIT_DAILY: '1000000000000000',
      BENCH_SQL_TRACE_FILE: options.sqlTraceFile ?? '',
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/readyz`, child, `topup serve (${options.databaseUrl ? 'postgres' : 'sqlite'})`);
  return { url, dataDir: options.dataDir, process: child, stop: () => child.stop() };
}

async function call<T>(url: string, init: { method: string; token?: string; body?: unknown; idempotent?: boolean }): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.idempotent) headers['idempotency-key'] = randomUUID();
  const res = await fetch(url, { method: init.method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${init.method} ${url} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

export interface Customer {
  id: string;
  token: string;
}

async function inBatches<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(width, items.length) }, async () => {
    for (;;) {
      const index = next++;
      if (index >= items.length) return;
      out[index] = await work(items[index] as T);
    }
  });
  await Promise.all(lanes);
  return out;
}

/**
 * Registers `count` customers through the API and funds each with `funding` fen through a
 * finance adjustment (admin token), so purchases never run out of balance.
 */
export async function seedCustomers(server: TopupServer, count: number, funding: number): Promise<Customer[]> {
  const admin = await call<{ token: string }>(`${server.url}/v1/auth/login`, {
    method: 'POST',
    body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
  });
  const run = randomUUID().slice(0, 8);
  const indexes = Array.from({ length: count }, (_, i) => i);
  // Registration hashes a password with scrypt (tens of ms each): a few lanes keep both cores busy.
  const customers = await inBatches(indexes, 6, async (i) => {
    const session = await call<{ user: { id: string }; token: string }>(`${server.url}/v1/auth/register`, {
      method: 'POST',
      body: { email: `bench-${run}-${i}@example.com`, password: CUSTOMER_PASSWORD },
    });
    return { id: session.user.id, token: session.token };
  });
  await inBatches(customers, 8, (customer) =>
    call(`${server.url}/v1/admin/adjustments`, {
      method: 'POST',
      token: admin.token,
      idempotent: true,
      body: { user_id: customer.id, amount: funding, reason: 'benchmark funding' },
    }),
  );
  return customers;
}

/** Reads one customer's balance (sanity check after a run). */
export async function readBalance(server: TopupServer, customer: Customer): Promise<number> {
  const balance = await call<{ available: number }>(`${server.url}/v1/balance`, { method: 'GET', token: customer.token });
  return balance.available;
}
