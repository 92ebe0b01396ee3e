import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxTables } from '../../src/channels/sandbox/sandbox.migration.js';
import { OffsetClock } from '../../src/domain/clock.js';
import { RedisRateLimiter } from '../../src/ops/rate-limiter.js';
import { tinyPng, uploadEvidence } from '../support/evidence-helpers.js';
import { expectProblem } from '../support/expect-problem.js';
import { recharge } from '../support/recharge-helpers.js';
import { DIALECT } from '../support/test-database.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, type TestServer, startTestServer } from '../support/test-server.js';
import { sendRaw } from '../fuzz/raw-http.js';

/**
 * The service's own limits (OWASP API4, unrestricted resource consumption): request body size,
 * pagination caps, per-IP limits on the auth endpoints (password guessing) also under a
 * concurrent burst, and timeouts on calls that leave the process. Plus the edge cases the
 * fuzzing suite found, pinned as regressions.
 */

/** A TCP server that accepts connections and never answers: a stalled dependency. */
async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe(`limits of the service (${DIALECT})`, () => {
  let server: TestServer;
  let customer: { id: string; token: string };
  beforeAll(async () => {
    server = await startTestServer({ worker: false, env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000' } });
    customer = await server.customer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses a JSON body over 1 MB with a 413 problem, and takes one just under', async () => {
    const over = JSON.stringify({ amount: 100, description: 'x'.repeat(1024 * 1024) });
    const res = await sendRaw(server.url, {
      method: 'POST',
      path: '/v1/purchases',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${customer.token}`, 'idempotency-key': 'big-1' },
      body: over,
    });
    expect(res.status, res.text).toBe(413);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.json?.code).toBe('FILE_TOO_LARGE');
    // Just under the limit the body is read (and then refused for its content, not its size).
    const under = JSON.stringify({ amount: 100, description: 'x'.repeat(1024 * 1024 - 100) });
    const read = await sendRaw(server.url, {
      method: 'POST',
      path: '/v1/purchases',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${customer.token}`, 'idempotency-key': 'big-2' },
      body: under,
    });
    expect(read.status, read.text.slice(0, 200)).toBe(400);
    expect(read.json?.code).toBe('VALIDATION_FAILED');
  });

  it('refuses an evidence file over 5 MB with 413', async () => {
    const png = tinyPng(false);
    const huge = Buffer.concat([png, Buffer.alloc(5 * 1024 * 1024 + 1 - png.length, 0)]);
    const res = await uploadEvidence(server.url, customer.token, huge);
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('FILE_TOO_LARGE');
  });

  it('caps every list at 100 items: limit=101 is a 400 problem, limit=100 is fine', async () => {
    const admin = await server.adminToken();
    const doc = await server.http.get('/openapi.json');
    const lists: string[] = [];
    for (const [path, item] of Object.entries(
      doc.body.paths as Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>,
    )) {
      const get = item.get;
      if (!get?.parameters?.some((p) => p.in === 'query' && p.name === 'limit')) continue;
      lists.push(path);
    }
    expect(lists.length).toBeGreaterThanOrEqual(8);
    for (const path of lists) {
      const url = path.replace('{id}', 'zz_none');
      const token = path.startsWith('/v1/admin/') ? admin : customer.token;
      const over = await server.http.get(`${url}?limit=101`, { token });
      expectProblem(over, 400, 'VALIDATION_FAILED');
      const max = await server.http.get(`${url}?limit=100`, { token });
      expect([200, 404], `${path}?limit=100: ${max.text.slice(0, 200)}`).toContain(max.status);
    }
  });

  describe('edge cases found by fuzzing (regressions)', () => {
    it('a path id longer than the router accepts, or a malformed URL, is a 400 problem document', async () => {
      for (const path of [
        `/v1/recharges/${'a'.repeat(101)}`,
        `/v1/refunds/${'界'.repeat(40)}/cancel`,
        '/v1/recharges/%E0%A4%A',
        '/v1/refunds/%',
      ]) {
        const res = await sendRaw(server.url, { method: 'GET', path, headers: { authorization: `Bearer ${customer.token}` } });
        expect(res.status, `${path}: ${res.text}`).toBeGreaterThanOrEqual(400);
        expect(res.status, path).toBeLessThan(500);
        expect(res.contentType, `${path}: ${res.text}`).toContain('application/problem+json');
        expect(typeof res.json?.code).toBe('string');
      }
    });

    it('two Idempotency-Key headers are refused, and nothing is bought', async () => {
      await server.fund(customer.id, 1_000);
      const res = await sendRaw(server.url, {
        method: 'POST',
        path: '/v1/purchases',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${customer.token}`, 'idempotency-key': ['dup-a', 'dup-b'] },
        body: JSON.stringify({ amount: 100, description: 'two keys' }),
      });
      expect(res.status, res.text).toBe(400);
      expect(res.json?.code).toBe('VALIDATION_FAILED');
      const purchases = await server.service.ctx.store.db
        .selectFrom('purchases')
        .select('id')
        .where('customer_id', '=', customer.id)
        .execute();
      expect(purchases).toEqual([]);
    });

    it('U+0000 in a body, a query or a path id is a 400 problem on either dialect (PostgreSQL text cannot hold it)', async () => {
      await server.fund(customer.id, 1_000);
      const body = await server.http.post('/v1/purchases', { amount: 1, description: 'a\u0000b' }, { token: customer.token, key: true });
      expectProblem(body, 400, 'VALIDATION_FAILED');
      expect(body.body.errors).toEqual([{ field: 'description', message: 'must not contain NUL characters' }]);
      const nested = await recharge(server.http, customer.token, 100, 'credit_card', {
        card_number: '4111111111111111',
        expiry: '12/39',
        verification_code: '123',
        holder_name: 'Li\u0000',
      });
      expectProblem(nested, 400, 'VALIDATION_FAILED');
      expect(nested.body.errors[0].field).toBe('payment_method.holder_name');
      const register = await server.http.post('/v1/auth/register', { email: 'nul@example.com', password: 'password-1', name: '\u0000' });
      expectProblem(register, 400, 'VALIDATION_FAILED');
      const admin = await server.adminToken();
      expectProblem(await server.http.get('/v1/admin/audit?actor=%00', { token: admin }), 400, 'VALIDATION_FAILED');
      expectProblem(await server.http.get('/v1/recharges/rch%00x', { token: customer.token }), 400, 'VALIDATION_FAILED');
      const bought = await server.service.ctx.store.db
        .selectFrom('purchases')
        .select('id')
        .where('customer_id', '=', customer.id)
        .execute();
      expect(bought).toEqual([]);
    });
  });
});

describe(`per-IP limit on sign-ins under a concurrent burst (${DIALECT})`, () => {
  let server: TestServer;
  let admin = '';
  beforeAll(async () => {
    server = await startTestServer({ worker: false, env: { TOPUP_AUTH_RATE_PER_MIN: '5' } });
    admin = await server.adminToken();
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Windows are fixed minutes of the service clock: start each burst at the top of a fresh one. */
  async function freshWindow(): Promise<void> {
    const clock = await server.http.get('/v1/sandbox/clock', { token: admin });
    await server.advance(61 - new Date(clock.body.now).getUTCSeconds());
  }

  it('40 parallel password guesses get at most 5 password checks in a minute; the rest are 429', async () => {
    await freshWindow();
    const guesses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => server.http.post('/v1/auth/login', { email: ADMIN_EMAIL, password: `guess-${i}` })),
    );
    const statuses = guesses.map((g) => g.status);
    const checked = statuses.filter((s) => s === 401).length;
    const limited = statuses.filter((s) => s === 429).length;
    expect(checked + limited, JSON.stringify(statuses)).toBe(40);
    expect(checked, `password checks let through: ${checked}`).toBeLessThanOrEqual(5);
    for (const g of guesses.filter((x) => x.status === 429)) expectProblem(g, 429, 'RATE_LIMITED');
  });

  it('a successful sign-in is still not counted', async () => {
    await freshWindow();
    for (let i = 0; i < 8; i++)
      expect((await server.http.post('/v1/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).status).toBe(200);
  });

  it('parallel registrations from one address stop at the limit too', async () => {
    await freshWindow();
    const tries = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        server.http.post('/v1/auth/register', { email: `burst-${i}-${Date.now()}@example.com`, password: 'customer-pass-1' }),
      ),
    );
    const created = tries.filter((t) => t.status === 201).length;
    expect(created).toBeGreaterThan(0);
    expect(created).toBeLessThanOrEqual(5);
  });
});

describe('timeouts on calls that leave the process', () => {
  it('a stalled Redis fails a rate-limit check within seconds instead of hanging the request', async () => {
    const hole = await blackHole();
    const limiter = new RedisRateLimiter(`redis://127.0.0.1:${hole.port}`, new OffsetClock());
    try {
      const started = Date.now();
      const outcome = await Promise.race([
        limiter.hit('auth:test', 10).then(
          () => 'answered',
          () => 'failed',
        ),
        new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 15_000)),
      ]);
      expect(outcome).toBe('failed');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await limiter.close();
      await hole.close();
    }
  }, 30_000);

  it('a sign-in against a stalled Redis answers 503 SYSTEM_BUSY within seconds', async () => {
    const hole = await blackHole();
    const server = await startTestServer({ worker: false, env: { REDIS_URL: `redis://127.0.0.1:${hole.port}` } });
    try {
      const started = Date.now();
      const res = await server.http.post('/v1/auth/login', { email: ADMIN_EMAIL, password: 'wrong-password' });
      expectProblem(res, 503, 'SYSTEM_BUSY');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await server.close();
      await hole.close();
    }
  }, 60_000);

  it('a channel notification to an address that never answers is abandoned after 5 s and retried later', async () => {
    const hole = await blackHole();
    const server = await startTestServer({ worker: false });
    try {
      server.service.ctx.publicUrl.current = `http://127.0.0.1:${hole.port}`;
      const customer = await server.customer();
      // A payment that is only told by notification (answered processing).
      const order = await recharge(server.http, customer.token, 6602, 'alipay');
      expect(order.body.status).toBe('pending');
      const started = Date.now();
      await server.advance(150);
      expect(Date.now() - started).toBeLessThan(20_000);
      const rows = await server.service.ctx.store.db
        .withTables<SandboxTables>()
        .selectFrom('sandbox_notifications')
        .select(['status', 'attempts', 'last_error'])
        .execute();
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row.status).toBe('pending');
        expect(row.attempts).toBeGreaterThanOrEqual(1);
        expect(row.last_error ?? '').toMatch(/timeout|aborted/i);
      }
    } finally {
      await server.close();
      await hole.close();
    }
  }, 60_000);
});
