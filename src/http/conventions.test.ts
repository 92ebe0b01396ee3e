import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFieldError, expectProblem } from '../../test/support/expect-problem.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer, type TestServer } from '../../test/support/test-server.js';
import { FAILURES } from '../domain/errors.js';
import type { Database } from '../store/schema.js';

describe('HTTP conventions', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ worker: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('problem documents', () => {
    it('answers an unknown path with a NOT_FOUND problem document carrying every listed field', async () => {
      const res = await server.http.get('/v1/no-such-thing');
      expectProblem(res, 404, 'NOT_FOUND');
      expect(res.body.type).toMatch(/^https?:\/\//);
      expect(res.body.message).toBe(FAILURES.NOT_FOUND.zh);
      const post = await server.http.post('/nowhere', { a: 1 });
      expectProblem(post, 404, 'NOT_FOUND');
    });

    it('gives each answer its own request_id', async () => {
      const a = await server.http.get('/v1/no-such-thing');
      const b = await server.http.get('/v1/no-such-thing');
      expect(a.body.request_id).not.toBe(b.body.request_id);
    });

    it('writes `message` in Chinese by default and for zh-CN, in English for en', async () => {
      const byDefault = await server.http.get('/v1/me');
      const zh = await server.http.get('/v1/me', { language: 'zh-CN' });
      const zhPlain = await server.http.get('/v1/me', { language: 'zh' });
      const en = await server.http.get('/v1/me', { language: 'en' });
      const enUs = await server.http.get('/v1/me', { language: 'en-US,en;q=0.9' });
      for (const res of [byDefault, zh, zhPlain, en, enUs]) expectProblem(res, 401, 'UNAUTHENTICATED');
      expect(byDefault.body.message).toBe(FAILURES.UNAUTHENTICATED.zh);
      expect(byDefault.body.message).toMatch(/[\u4e00-\u9fff]/);
      expect(zh.body.message).toBe(FAILURES.UNAUTHENTICATED.zh);
      expect(zhPlain.body.message).toBe(FAILURES.UNAUTHENTICATED.zh);
      expect(en.body.message).toBe(FAILURES.UNAUTHENTICATED.en);
      expect(en.body.message).not.toMatch(/[\u4e00-\u9fff]/);
      expect(enUs.body.message).toBe(FAILURES.UNAUTHENTICATED.en);
      // The rest of the document does not depend on the language.
      expect(en.body.code).toBe(byDefault.body.code);
      expect(en.body.title).toBe(byDefault.body.title);
    });

    it('localizes not-found and validation problems too, with errors[{field, message}]', async () => {
      const notFound = await server.http.get('/v1/no-such-thing', { language: 'en' });
      expect(notFound.body.message).toBe(FAILURES.NOT_FOUND.en);
      const customer = await server.customer();
      const invalid = await server.http.post(
        '/v1/purchases',
        { amount: '100', description: 'x', extra: true },
        { token: customer.token, key: true, language: 'en' },
      );
      expectFieldError(invalid, 'amount');
      expectFieldError(invalid, 'extra');
      expect(invalid.body.message).toBe(FAILURES.VALIDATION_FAILED.en);
    });

    it('never echoes an internal failure: 5xx answers are generic problems with the request id', async () => {
      const customer = await server.customer();
      const store = server.service.ctx.store;
      const healthy = store.db;
      // A database that fails every query with a message that must stay in the log.
      const broken = new Kysely<Database>({
        dialect: new SqliteDialect({
          database: async () => {
            throw new Error('SECRET-INTERNAL: disk on fire at /var/lib/db');
          },
        }),
      });
      store.db = broken;
      try {
        const ready = await server.http.get('/readyz', { language: 'en' });
        expectProblem(ready, 503, 'SYSTEM_BUSY');
        expect(ready.body.message).toBe(FAILURES.SYSTEM_BUSY.en);
        expect(ready.text).not.toContain('SECRET-INTERNAL');

        const me = await server.http.get('/v1/me', { token: customer.token });
        expect(me.status).toBe(503);
        expect(me.headers.get('content-type')).toContain('application/problem+json');
        expect(me.body).toMatchObject({ status: 503, retryable: true, request_id: expect.any(String) });
        expect(me.body.code).toBe('SYSTEM_BUSY');
        expect(me.body.detail).toContain(me.body.request_id);
        expect(me.text).not.toContain('SECRET-INTERNAL');
        expect(me.text).not.toContain('/var/lib/db');
        expect(me.text).not.toMatch(/at .*\.ts:\d+/);
      } finally {
        store.db = healthy;
        await broken.destroy().catch(() => undefined);
      }
      expect((await server.http.get('/readyz')).status).toBe(200);
      expect((await server.http.get('/v1/me', { token: customer.token })).status).toBe(200);
    });

    it('answers a malformed JSON body with VALIDATION_FAILED', async () => {
      const res = await server.http.post('/v1/auth/login', '{"email": ');
      expectProblem(res, 400, 'VALIDATION_FAILED');
    });
  });

  describe('idempotency', () => {
    it('answers 20 parallel requests with one key with exactly one debit (201 or 409 IDEMPOTENCY_KEY_IN_USE each)', async () => {
      const customer = await server.customer();
      await server.fund(customer.id, 1000);
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          server.http.post('/v1/purchases', { amount: 100, description: 'parallel' }, { token: customer.token, key: 'parallel-key' }),
        ),
      );
      const created = answers.filter((r) => r.status === 201);
      const inUse = answers.filter((r) => r.status === 409);
      expect(created.length + inUse.length, answers.map((r) => `${r.status} ${r.text}`).join('\n')).toBe(20);
      expect(created.length).toBeGreaterThanOrEqual(1);
      for (const res of inUse) expectProblem(res, 409, 'IDEMPOTENCY_KEY_IN_USE');
      for (const res of inUse) expect(res.body.retryable).toBe(true);
      expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
      // Exactly one ran the purchase; every other 201 is a replay of its answer.
      expect(created.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);

      const balance = await server.http.get('/v1/balance', { token: customer.token });
      expect(balance.body.available).toBe(900);
      const movements = await server.http.get('/v1/balance/transactions', { token: customer.token });
      expect((movements.body.data as { kind: string }[]).filter((m) => m.kind === 'purchase')).toHaveLength(1);

      // Once the first has finished, the key replays its answer.
      const later = await server.http.post(
        '/v1/purchases',
        { amount: 100, description: 'parallel' },
        { token: customer.token, key: 'parallel-key' },
      );
      expect(later.status).toBe(201);
      expect(later.headers.get('idempotent-replayed')).toBe('true');
      expect(later.body.id).toBe(created[0]?.body.id);
      await server.verify();
    });

    it('replays a refusal too: the original status and body, even after the balance would allow it', async () => {
      const customer = await server.customer();
      await server.fund(customer.id, 50);
      const body = { amount: 100, description: 'too early' };
      const first = await server.http.post('/v1/purchases', body, { token: customer.token, key: 'refused-once' });
      expectProblem(first, 422, 'INSUFFICIENT_BALANCE');
      await server.fund(customer.id, 100);
      const again = await server.http.post('/v1/purchases', body, { token: customer.token, key: 'refused-once' });
      expect(again.status).toBe(422);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.headers.get('content-type')).toContain('application/problem+json');
      expect(again.body).toEqual(first.body);
      expect((await server.http.get('/v1/balance', { token: customer.token })).body.available).toBe(150);
      const fresh = await server.http.post('/v1/purchases', body, { token: customer.token, key: 'new-attempt' });
      expect(fresh.status).toBe(201);
      expect(fresh.body.balance_after).toBe(50);
      await server.verify();
    });

    it('refuses an Idempotency-Key of 256 characters and accepts one of 255', async () => {
      const customer = await server.customer();
      await server.fund(customer.id, 1000);
      const tooLong = await server.http.post(
        '/v1/purchases',
        { amount: 100, description: 'x' },
        { token: customer.token, key: 'k'.repeat(256) },
      );
      expectProblem(tooLong, 400, 'VALIDATION_FAILED');
      expect((await server.http.get('/v1/balance', { token: customer.token })).body.available).toBe(1000);
      const longest = await server.http.post(
        '/v1/purchases',
        { amount: 100, description: 'x' },
        { token: customer.token, key: 'k'.repeat(255) },
      );
      expect(longest.status, longest.text).toBe(201);
      expect((await server.http.get('/v1/balance', { token: customer.token })).body.available).toBe(900);
      await server.verify();
    });

    it('keeps a key for at least 24 hours of service clock', async () => {
      const customer = await server.customer();
      await server.fund(customer.id, 1000);
      const body = { amount: 100, description: 'kept' };
      const first = await server.http.post('/v1/purchases', body, { token: customer.token, key: 'kept-a-day' });
      expect(first.status).toBe(201);
      // The clock moves past a day; the hourly retention sweep runs on the way.
      await server.advance(25 * 3600);
      const again = await server.http.post('/v1/purchases', body, { token: customer.token, key: 'kept-a-day' });
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body).toEqual(first.body);
      expect((await server.http.get('/v1/balance', { token: customer.token })).body.available).toBe(900);
      await server.verify();
    });

    it('scopes keys per caller: two customers may use the same key', async () => {
      const alice = await server.customer();
      const bob = await server.customer();
      await server.fund(alice.id, 500);
      await server.fund(bob.id, 500);
      const a = await server.http.post('/v1/purchases', { amount: 100, description: 'x' }, { token: alice.token, key: 'shared' });
      const b = await server.http.post('/v1/purchases', { amount: 100, description: 'x' }, { token: bob.token, key: 'shared' });
      expect(a.status).toBe(201);
      expect(b.status).toBe(201);
      expect(b.headers.get('idempotent-replayed')).toBeNull();
      expect(b.body.id).not.toBe(a.body.id);
      expect((await server.http.get('/v1/balance', { token: bob.token })).body.available).toBe(400);
      await server.verify();
    });
  });
});

describe('auth rate limit (TOPUP_AUTH_RATE_PER_MIN=3)', () => {
  let server: TestServer;
  let admin: string;
  beforeAll(async () => {
    server = await startTestServer({ env: { TOPUP_AUTH_RATE_PER_MIN: '3' }, worker: false });
    // Signed in before any failure: the limiter would refuse this sign-in too once spent.
    admin = await server.adminToken();
  });
  afterAll(async () => {
    await server?.close();
  });

  /**
   * Windows are fixed minutes of the service clock: move to a fresh one with room to spare,
   * so a test's attempts never straddle a window boundary.
   */
  async function freshWindow(): Promise<void> {
    const clock = await server.http.get('/v1/sandbox/clock', { token: admin });
    const second = new Date(clock.body.now).getUTCSeconds();
    await server.advance(61 - second);
  }

  const login = (password: string) => server.http.post('/v1/auth/login', { email: ADMIN_EMAIL, password });
  const register = (tag: string) =>
    server.http.post('/v1/auth/register', { email: `${tag}-${Date.now()}-${Math.random()}@example.com`, password: 'customer-pass-1' });

  it('does not count successful sign-ins', async () => {
    await freshWindow();
    for (let i = 0; i < 5; i++) expect((await login(ADMIN_PASSWORD)).status).toBe(200);
  });

  it('refuses the 4th attempt after 3 failed sign-ins, even with the right password, until the window passes', async () => {
    await freshWindow();
    for (let i = 0; i < 3; i++) expectProblem(await login('wrong-password'), 401, 'UNAUTHENTICATED');
    const limited = await login(ADMIN_PASSWORD);
    expectProblem(limited, 429, 'RATE_LIMITED');
    expect(limited.body.retryable).toBe(true);
    expect(limited.body.token).toBeUndefined();
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expectProblem(await login(ADMIN_PASSWORD), 429, 'RATE_LIMITED');
    // The client address is the socket's: a forwarded-for header cannot buy a fresh budget.
    const spoofed = await server.http.post(
      '/v1/auth/login',
      { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
      { headers: { 'x-forwarded-for': '203.0.113.7', 'x-real-ip': '203.0.113.7' } },
    );
    expectProblem(spoofed, 429, 'RATE_LIMITED');

    await server.advance(61);
    const again = await login(ADMIN_PASSWORD);
    expect(again.status, again.text).toBe(200);
    expect(typeof again.body.token).toBe('string');
  });

  it('counts registrations: the 4th in a minute is refused and creates nobody', async () => {
    await freshWindow();
    for (let i = 0; i < 3; i++) expect((await register('ok')).status).toBe(201);
    const email = `refused-${Date.now()}@example.com`;
    const refused = await server.http.post('/v1/auth/register', { email, password: 'customer-pass-1' });
    expectProblem(refused, 429, 'RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const users = await server.service.ctx.store.db.selectFrom('users').select('id').where('email', '=', email).execute();
    expect(users).toEqual([]);

    await server.advance(61);
    expect((await server.http.post('/v1/auth/register', { email, password: 'customer-pass-1' })).status).toBe(201);
  });

  it('counts registrations and failed sign-ins together', async () => {
    await freshWindow();
    expect((await register('mixed')).status).toBe(201);
    expect((await register('mixed')).status).toBe(201);
    expectProblem(await login('wrong-password'), 401, 'UNAUTHENTICATED');
    expectProblem(await login(ADMIN_PASSWORD), 429, 'RATE_LIMITED');
    expectProblem(await register('mixed'), 429, 'RATE_LIMITED');
  });
});

describe('session lifetime', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ worker: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('keeps a token for 30 days of service clock and refuses it after, customer and staff alike', async () => {
    const customer = await server.customer();
    const admin = await server.adminToken();
    await server.advance(29 * 86_400);
    expect((await server.http.get('/v1/me', { token: customer.token })).status).toBe(200);

    await server.advance(2 * 86_400);
    expectProblem(await server.http.get('/v1/me', { token: customer.token }), 401, 'UNAUTHENTICATED');
    expectProblem(await server.http.get('/v1/balance', { token: customer.token }), 401, 'UNAUTHENTICATED');
    expectProblem(await server.http.get('/v1/sandbox/clock', { token: admin }), 401, 'UNAUTHENTICATED');

    const login = await server.http.post('/v1/auth/login', { email: customer.email, password: 'customer-pass-1' });
    expect(login.status).toBe(200);
    expect((await server.http.get('/v1/me', { token: login.body.token })).body.id).toBe(customer.id);
    const fresh = await server.http.post('/v1/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    expect((await server.http.get('/v1/sandbox/clock', { token: fresh.body.token })).status).toBe(200);
  });
});
