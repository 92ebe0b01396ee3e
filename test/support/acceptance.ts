import { randomUUID } from 'node:crypto';
import { type HttpClient, httpClient } from './http-client.js';
import type { TestDatabase } from './test-database.js';

export { type CliResult, runTopupCli } from './processes.js';

/**
 * Helpers for the acceptance suites that drive real `topup` child processes over sockets:
 * everything goes through HTTP or the CLI, nothing reaches into the store.
 */

export const ADMIN_EMAIL = 'admin@topup.test';
export const ADMIN_PASSWORD = 'admin-password-1';

/** The environment every process of one deployment shares: same database, same data dir. */
export function deploymentEnv(db: TestDatabase): Record<string, string> {
  return {
    DATA_DIR: db.dataDir,
    // Always set, so the parent's DATABASE_URL (the server's base URL) never leaks through on PostgreSQL
    // and SQLite runs stay on SQLite.
    DATABASE_URL: db.databaseUrl ?? '',
    TOPUP_ADMIN_EMAIL: ADMIN_EMAIL,
    TOPUP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    TOPUP_AUTH_RATE_PER_MIN: '1000',
  };
}

export async function adminLogin(http: HttpClient): Promise<string> {
  const res = await http.post('/v1/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
  if (res.status !== 200) throw new Error(`admin login failed: ${res.status} ${res.text}`);
  return res.body.token as string;
}

export async function registerCustomer(http: HttpClient): Promise<{ id: string; token: string }> {
  const res = await http.post('/v1/auth/register', { email: `c-${randomUUID()}@example.com`, password: 'customer-pass-1' });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text}`);
  return { id: res.body.user.id as string, token: res.body.token as string };
}

/** Puts money on a balance the only way that exists before recharges: a finance adjustment. */
export async function fund(http: HttpClient, adminToken: string, userId: string, amount: number): Promise<void> {
  const res = await http.post(
    '/v1/admin/adjustments',
    { user_id: userId, amount, reason: 'test funding' },
    { token: adminToken, key: true },
  );
  if (res.status !== 201) throw new Error(`funding failed: ${res.status} ${res.text}`);
}

export async function availableBalance(http: HttpClient, token: string): Promise<number> {
  const res = await http.get('/v1/balance', { token });
  if (res.status !== 200) throw new Error(`balance read failed: ${res.status} ${res.text}`);
  return res.body.available as number;
}

export interface Movement {
  id: string;
  amount: number;
  kind: string;
  ref: string | null;
  created_at: string;
  balance_after: number;
}

/** Every movement of the caller's balance, newest first, following `next_cursor` to the end. */
export async function allMovements(http: HttpClient, token: string): Promise<Movement[]> {
  const movements: Movement[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const query: string = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : '?limit=100';
    const res = await http.get(`/v1/balance/transactions${query}`, { token });
    if (res.status !== 200) throw new Error(`transactions read failed: ${res.status} ${res.text}`);
    movements.push(...(res.body.data as Movement[]));
    cursor = res.body.next_cursor as string | null;
    if (!cursor) return movements;
  }
  throw new Error('transaction pages never ended');
}

export { httpClient };
