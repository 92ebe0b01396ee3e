import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, startTestServer } from '../../test/support/test-server.js';

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
});
