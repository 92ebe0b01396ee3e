import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFieldError, expectProblem } from '../../test/support/expect-problem.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';
import { encodeCursor } from '../http/cursor.js';

interface Movement {
  id: string;
  amount: number;
  kind: string;
  ref: string | null;
  created_at: string;
  balance_after: number;
}

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('balance routes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ worker: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  async function purchase(token: string, amount: number) {
    const res = await server.http.post('/v1/purchases', { amount, description: `buy ${amount}` }, { token, key: true });
    expect(res.status, res.text).toBe(201);
    return res.body;
  }

  async function balanceOf(token: string): Promise<number> {
    const res = await server.http.get('/v1/balance', { token });
    expect(res.status).toBe(200);
    return res.body.available as number;
  }

  async function movementsOf(token: string): Promise<Movement[]> {
    const res = await server.http.get('/v1/balance/transactions?limit=100', { token });
    expect(res.status).toBe(200);
    return res.body.data as Movement[];
  }

  describe('GET /v1/balance', () => {
    it('answers zero for a new customer, with every listed field', async () => {
      const customer = await server.customer();
      const res = await server.http.get('/v1/balance', { token: customer.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ available: 0, held: 0, currency: 'CNY' });
      expect(res.body.updated_at).toMatch(RFC3339_UTC);
    });

    it('moves updated_at with each change, on the service clock', async () => {
      const customer = await server.customer();
      await server.fund(customer.id, 500);
      const before = await server.http.get('/v1/balance', { token: customer.token });
      await server.advance(3600);
      await purchase(customer.token, 10);
      const after = await server.http.get('/v1/balance', { token: customer.token });
      expect(after.body.available).toBe(490);
      expect(new Date(after.body.updated_at).getTime() - new Date(before.body.updated_at).getTime()).toBeGreaterThanOrEqual(3600_000);
    });

    it("shows the caller's own balance only", async () => {
      const alice = await server.customer();
      const bob = await server.customer();
      await server.fund(alice.id, 1234);
      expect(await balanceOf(alice.token)).toBe(1234);
      expect(await balanceOf(bob.token)).toBe(0);
    });

    it('answers 401 without a token and 403 to staff (who have no balance)', async () => {
      expectProblem(await server.http.get('/v1/balance'), 401, 'UNAUTHENTICATED');
      expectProblem(await server.http.get('/v1/balance', { token: await server.adminToken() }), 403, 'FORBIDDEN');
      const finance = await server.staff('finance');
      expectProblem(await server.http.get('/v1/balance', { token: finance.token }), 403, 'FORBIDDEN');
    });
  });

  describe('GET /v1/balance/transactions', () => {
    it('answers an empty first page for a new customer', async () => {
      const customer = await server.customer();
      const res = await server.http.get('/v1/balance/transactions', { token: customer.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ data: [], next_cursor: null });
    });

    it('pages newest first over several pages with signed amounts and balance_after', async () => {
      const customer = await server.customer();
      await server.fund(customer.id, 1000);
      const p1 = await purchase(customer.token, 100);
      const p2 = await purchase(customer.token, 200);
      const p3 = await purchase(customer.token, 300);
      await server.fund(customer.id, 50);
      const p4 = await purchase(customer.token, 25);

      const pages: Movement[][] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 10; i++) {
        const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : '?limit=2';
        const res = await server.http.get(`/v1/balance/transactions${query}`, { token: customer.token });
        expect(res.status, res.text).toBe(200);
        pages.push(res.body.data as Movement[]);
        cursor = res.body.next_cursor as string | null;
        if (!cursor) break;
        expect(typeof cursor).toBe('string');
      }
      expect(pages.map((p) => p.length)).toEqual([2, 2, 2]);
      const all = pages.flat();

      expect(all.map((m) => m.amount)).toEqual([-25, 50, -300, -200, -100, 1000]);
      expect(all.map((m) => m.balance_after)).toEqual([425, 450, 400, 700, 900, 1000]);
      expect(all.map((m) => m.kind)).toEqual(['purchase', 'adjustment', 'purchase', 'purchase', 'purchase', 'adjustment']);
      expect(all.filter((m) => m.kind === 'purchase').map((m) => m.ref)).toEqual([p4.id, p3.id, p2.id, p1.id]);
      expect(all.filter((m) => m.kind === 'purchase').map((m) => m.id)).toEqual([
        p4.transaction_id,
        p3.transaction_id,
        p2.transaction_id,
        p1.transaction_id,
      ]);
      expect(new Set(all.map((m) => m.id)).size).toBe(6);
      for (const m of all) {
        expect(m.created_at).toMatch(RFC3339_UTC);
        expect(Object.keys(m)).toEqual(expect.arrayContaining(['id', 'amount', 'kind', 'ref', 'created_at', 'balance_after']));
      }
      // Each row's balance_after is the next (older) row's plus this row's signed amount.
      for (let i = 0; i < all.length - 1; i++) {
        const newer = all[i] as Movement;
        const older = all[i + 1] as Movement;
        expect(newer.balance_after).toBe(older.balance_after + newer.amount);
        expect(newer.created_at >= older.created_at).toBe(true);
      }
      expect(all[0]?.balance_after).toBe(await balanceOf(customer.token));
      await server.verify();
    });

    it('answers 20 by default and at most 100 per page', async () => {
      const customer = await server.customer();
      await server.fund(customer.id, 1000);
      for (let i = 0; i < 21; i++) await purchase(customer.token, 1);
      const first = await server.http.get('/v1/balance/transactions', { token: customer.token });
      expect(first.body.data).toHaveLength(20);
      expect(first.body.next_cursor).not.toBeNull();
      const rest = await server.http.get(`/v1/balance/transactions?cursor=${encodeURIComponent(first.body.next_cursor)}`, {
        token: customer.token,
      });
      expect(rest.body.data).toHaveLength(2);
      expect(rest.body.next_cursor).toBeNull();
      expect(rest.body.data[1]).toMatchObject({ amount: 1000, kind: 'adjustment', balance_after: 1000 });
      const max = await server.http.get('/v1/balance/transactions?limit=100', { token: customer.token });
      expect(max.body.data).toHaveLength(22);
      expect(max.body.next_cursor).toBeNull();
      await server.verify();
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=2.5', 'limit'],
      ['cursor=not-a-cursor!!', 'cursor'],
      [`cursor=${encodeCursor('text-position')}`, 'cursor'],
      [`cursor=${Buffer.from('{"q":1}').toString('base64url')}`, 'cursor'],
      ['colour=blue', 'colour'],
    ])('refuses ?%s with 400 VALIDATION_FAILED', async (query, field) => {
      const customer = await server.customer();
      expectFieldError(await server.http.get(`/v1/balance/transactions?${query}`, { token: customer.token }), field);
    });

    it("never shows another customer's movements, even with their cursor", async () => {
      const alice = await server.customer();
      const bob = await server.customer();
      await server.fund(alice.id, 500);
      await purchase(alice.token, 10);
      await purchase(alice.token, 20);
      const alicePage = await server.http.get('/v1/balance/transactions?limit=1', { token: alice.token });
      expect(alicePage.body.next_cursor).toEqual(expect.any(String));
      expect(await movementsOf(bob.token)).toEqual([]);
      const withCursor = await server.http.get(`/v1/balance/transactions?cursor=${encodeURIComponent(alicePage.body.next_cursor)}`, {
        token: bob.token,
      });
      expect(withCursor.status).toBe(200);
      expect(withCursor.body.data).toEqual([]);
    });

    it('answers 401 without a token and 403 to staff', async () => {
      expectProblem(await server.http.get('/v1/balance/transactions'), 401, 'UNAUTHENTICATED');
      const agent = await server.staff('cs_agent');
      expectProblem(await server.http.get('/v1/balance/transactions', { token: agent.token }), 403, 'FORBIDDEN');
    });
  });

  describe('POST /v1/purchases strictness', () => {
    it.each([
      ['an unknown field', { amount: 100, description: 'x', coupon: 'FREE' }, 'coupon'],
      ['the amount as a string', { amount: '100', description: 'x' }, 'amount'],
      ['a fractional amount', { amount: 1.5, description: 'x' }, 'amount'],
      ['a zero amount', { amount: 0, description: 'x' }, 'amount'],
      ['a negative amount', { amount: -100, description: 'x' }, 'amount'],
      ['a missing description', { amount: 100 }, 'description'],
      ['an empty description', { amount: 100, description: '' }, 'description'],
      ['the description as a number', { amount: 100, description: 42 }, 'description'],
    ])('refuses %s with VALIDATION_FAILED and changes nothing', async (_case, body, field) => {
      const customer = await server.customer();
      await server.fund(customer.id, 1000);
      const res = await server.http.post('/v1/purchases', body, { token: customer.token, key: true });
      expectFieldError(res, field);
      expect(await balanceOf(customer.token)).toBe(1000);
      expect(await movementsOf(customer.token)).toHaveLength(1);
      await server.verify();
    });

    it('reports every bad field at once', async () => {
      const customer = await server.customer();
      const res = await server.http.post(
        '/v1/purchases',
        { amount: '100', description: 'x', extra: 1 },
        { token: customer.token, key: true },
      );
      expectFieldError(res, 'amount');
      expectFieldError(res, 'extra');
    });

    it('refuses a body that is not JSON', async () => {
      const customer = await server.customer();
      const res = await server.http.post('/v1/purchases', '{"amount": 100,', { token: customer.token, key: true });
      expectProblem(res, 400, 'VALIDATION_FAILED');
    });

    it('does not burn the key on a refused body: the corrected request with that key goes through', async () => {
      const customer = await server.customer();
      await server.fund(customer.id, 1000);
      const bad = await server.http.post('/v1/purchases', { amount: '100', description: 'x' }, { token: customer.token, key: 'fix-me' });
      expectFieldError(bad, 'amount');
      const good = await server.http.post('/v1/purchases', { amount: 100, description: 'x' }, { token: customer.token, key: 'fix-me' });
      expect(good.status, good.text).toBe(201);
      expect(good.headers.get('idempotent-replayed')).toBeNull();
      expect(await balanceOf(customer.token)).toBe(900);
    });

    it('answers 401 without a token and 403 to staff, and debits nothing', async () => {
      const customer = await server.customer();
      await server.fund(customer.id, 1000);
      const body = { amount: 100, description: 'x' };
      expectProblem(await server.http.post('/v1/purchases', body, { key: true }), 401, 'UNAUTHENTICATED');
      expectProblem(await server.http.post('/v1/purchases', body, { token: await server.adminToken(), key: true }), 403, 'FORBIDDEN');
      expect(await balanceOf(customer.token)).toBe(1000);
      await server.verify();
    });
  });
});
