import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';

describe('POST /v1/purchases', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('debits the balance and records the purchase against api revenue', async () => {
    const customer = await server.customer();
    await server.fund(customer.id, 1000);
    const res = await server.http.post('/v1/purchases', { amount: 300, description: 'GPT call' }, { token: customer.token, key: true });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ amount: 300, balance_after: 700, description: 'GPT call' });
    expect(res.body.id).toMatch(/^pur_/);
    const balance = await server.http.get('/v1/balance', { token: customer.token });
    expect(balance.body).toMatchObject({ available: 700, held: 0, currency: 'CNY' });
    const report = await server.verify();
    expect(report.platform['platform:api_revenue']).toBeGreaterThanOrEqual(300);
  });

  it('refuses a purchase above the balance with INSUFFICIENT_BALANCE and changes nothing', async () => {
    const customer = await server.customer();
    await server.fund(customer.id, 100);
    const res = await server.http.post('/v1/purchases', { amount: 101, description: 'too much' }, { token: customer.token, key: true });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('INSUFFICIENT_BALANCE');
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const balance = await server.http.get('/v1/balance', { token: customer.token });
    expect(balance.body.available).toBe(100);
    await server.verify();
  });

  it('replays the same key and body, refuses a different body, requires a key', async () => {
    const customer = await server.customer();
    await server.fund(customer.id, 1000);
    const first = await server.http.post('/v1/purchases', { amount: 10, description: 'x' }, { token: customer.token, key: 'same' });
    const again = await server.http.post('/v1/purchases', { amount: 10, description: 'x' }, { token: customer.token, key: 'same' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const other = await server.http.post('/v1/purchases', { amount: 11, description: 'x' }, { token: customer.token, key: 'same' });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const missing = await server.http.post('/v1/purchases', { amount: 10, description: 'x' }, { token: customer.token });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
    const balance = await server.http.get('/v1/balance', { token: customer.token });
    expect(balance.body.available).toBe(990);
  });

  it('replays a refused purchase as refused, even after the balance was topped up', async () => {
    const customer = await server.customer();
    await server.fund(customer.id, 50);
    const first = await server.http.post('/v1/purchases', { amount: 80, description: 'x' }, { token: customer.token, key: 'short' });
    expect(first.status).toBe(422);
    await server.fund(customer.id, 100);
    const again = await server.http.post('/v1/purchases', { amount: 80, description: 'x' }, { token: customer.token, key: 'short' });
    expect(again.status).toBe(422);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.code).toBe('INSUFFICIENT_BALANCE');
    const balance = await server.http.get('/v1/balance', { token: customer.token });
    expect(balance.body.available).toBe(150);
  });

  it('writes the key with its answer in the purchase transaction: one purchase, one stored 201', async () => {
    const customer = await server.customer();
    await server.fund(customer.id, 1000);
    const res = await server.http.post('/v1/purchases', { amount: 25, description: 'x' }, { token: customer.token, key: 'one-commit' });
    expect(res.status).toBe(201);
    const db = server.service.ctx.store.db;
    const key = await db.selectFrom('idempotency_keys').selectAll().where('key', '=', 'one-commit').executeTakeFirstOrThrow();
    expect(key).toMatchObject({ state: 'done', response_status: 201 });
    expect(JSON.parse(key.response_body ?? '')).toEqual(res.body);
    const purchases = await db.selectFrom('purchases').select('id').where('request_key', '=', 'one-commit').execute();
    expect(purchases.map((p) => p.id)).toEqual([res.body.id]);
  });

  it('answers with the first purchase, debiting nothing, when the key comes back after its stored answer was purged', async () => {
    const customer = await server.customer();
    await server.fund(customer.id, 1000);
    const first = await server.http.post('/v1/purchases', { amount: 40, description: 'x' }, { token: customer.token, key: 'old-key' });
    expect(first.status).toBe(201);
    const db = server.service.ctx.store.db;
    await db.deleteFrom('idempotency_keys').where('key', '=', 'old-key').execute();
    const again = await server.http.post('/v1/purchases', { amount: 40, description: 'x' }, { token: customer.token, key: 'old-key' });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.balance_after).toBe(960);
    const balance = await server.http.get('/v1/balance', { token: customer.token });
    expect(balance.body.available).toBe(960);
    await server.verify();
  });

  it('a refused purchase holds its key: a same-key twin is never run as a fresh request, even after a top-up', async () => {
    const customer = await server.customer();
    await server.fund(customer.id, 50);
    const send = () => server.http.post('/v1/purchases', { amount: 80, description: 'x' }, { token: customer.token, key: 'twin-refused' });
    const answers = await Promise.all([send(), send(), send()]);
    // Exactly one request ran and was refused; the others saw its key (in use, or its stored refusal).
    const fresh = answers.filter((a) => a.status === 422 && a.headers.get('idempotent-replayed') !== 'true');
    expect(fresh).toHaveLength(1);
    for (const a of answers) {
      if (a === fresh[0]) continue;
      expect([409, 422]).toContain(a.status);
      if (a.status === 422) expect(a.headers.get('idempotent-replayed')).toBe('true');
    }
    await server.fund(customer.id, 100);
    const retry = await send();
    expect(retry.status).toBe(422);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(fresh[0]?.body);
    const balance = await server.http.get('/v1/balance', { token: customer.token });
    expect(balance.body.available).toBe(150);
    await server.verify();
  });
});
