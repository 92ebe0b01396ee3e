import { randomUUID } from 'node:crypto';
import { type Config, loadConfig } from '../../src/config.js';
import type { StaffRole } from '../../src/identity/roles.js';
import { verifyLedger } from '../../src/ledger/verify.js';
import { INVARIANT_CHECKS } from '../../src/ops/invariants.js';
import { type Service, startService } from '../../src/main.js';
import { type HttpClient, httpClient } from './http-client.js';
import { type TestDatabase, createTestDatabase } from './test-database.js';

export const ADMIN_EMAIL = 'admin@topup.test';
export const ADMIN_PASSWORD = 'admin-password-1';

export interface TestServer {
  url: string;
  service: Service;
  db: TestDatabase;
  http: HttpClient;
  adminToken(): Promise<string>;
  /** Signs up a new customer; returns its id and token. */
  customer(): Promise<{ id: string; token: string; email: string }>;
  staff(role: StaffRole): Promise<{ id: string; token: string; email: string }>;
  /** Puts money on a customer's balance through a finance adjustment. */
  fund(userId: string, amount: number): Promise<void>;
  advance(seconds: number): Promise<void>;
  /** Asserts `topup verify` is clean; returns the report. */
  verify(): Promise<Awaited<ReturnType<typeof verifyLedger>>>;
  close(): Promise<void>;
}

/**
 * The real service (HTTP on a free port, worker, store) on a fresh database of the suite's
 * dialect. `worker: false` keeps background polling off so a test drives jobs with the clock.
 */
export async function startTestServer(
  options: { env?: Record<string, string>; worker?: boolean; config?: Partial<Config> } = {},
): Promise<TestServer> {
  const db = await createTestDatabase();
  const config: Config = {
    ...loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: db.dataDir,
      ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
      TOPUP_ADMIN_EMAIL: ADMIN_EMAIL,
      TOPUP_ADMIN_PASSWORD: ADMIN_PASSWORD,
      TOPUP_AUTH_RATE_PER_MIN: '1000',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      TOPUP_WORKER_POLL_MS: '50',
      ...(options.env ?? {}),
    }),
    ...(options.config ?? {}),
  };
  const service = await startService(config, { api: true, worker: options.worker ?? true });
  const url = service.url ?? '';
  const http = httpClient(url);
  let admin: string | null = null;

  async function adminToken(): Promise<string> {
    if (admin) return admin;
    const res = await http.post('/v1/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    if (res.status !== 200) throw new Error(`admin login failed: ${res.status} ${res.text}`);
    admin = res.body.token as string;
    return admin;
  }

  return {
    url,
    service,
    db,
    http,
    adminToken,
    async customer() {
      const email = `c-${randomUUID()}@example.com`;
      const res = await http.post('/v1/auth/register', { email, password: 'customer-pass-1' });
      if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text}`);
      return { id: res.body.user.id as string, token: res.body.token as string, email };
    },
    async staff(role) {
      const email = `${role}-${randomUUID()}@topup.test`;
      const created = await http.post('/v1/admin/staff', { email, password: 'staff-pass-123', role }, { token: await adminToken() });
      if (created.status !== 201) throw new Error(`staff create failed: ${created.status} ${created.text}`);
      const login = await http.post('/v1/auth/login', { email, password: 'staff-pass-123' });
      return { id: created.body.id as string, token: login.body.token as string, email };
    },
    async fund(userId, amount) {
      const res = await http.post(
        '/v1/admin/adjustments',
        { user_id: userId, amount, reason: 'test funding' },
        { token: await adminToken(), key: true },
      );
      if (res.status !== 201) throw new Error(`funding failed: ${res.status} ${res.text}`);
    },
    async advance(seconds) {
      const res = await http.post('/v1/sandbox/clock/advance', { seconds }, { token: await adminToken() });
      if (res.status !== 200) throw new Error(`clock advance failed: ${res.status} ${res.text}`);
    },
    async verify() {
      const report = await verifyLedger(service.ctx.store.db, INVARIANT_CHECKS);
      if (report.violations.length > 0) {
        throw new Error(`ledger violations: ${JSON.stringify(report.violations, null, 2)}`);
      }
      return report;
    },
    async close() {
      await service.close();
      await db.drop();
    },
  };
}
