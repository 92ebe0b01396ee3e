import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFieldError, expectProblem } from '../../test/support/expect-problem.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('POST /v1/admin/adjustments', () => {
  let server: TestServer;
  let finance: { id: string; token: string };
  beforeAll(async () => {
    server = await startTestServer({ worker: false });
    finance = await server.staff('finance');
  });
  afterAll(async () => {
    await server?.close();
  });

  /** `key: null` sends no Idempotency-Key header at all. */
  function adjust(token: string | null, body: Record<string, unknown>, key: string | true | null = true) {
    return server.http.post('/v1/admin/adjustments', body, { token, key: key ?? undefined });
  }

  async function balanceOf(token: string): Promise<number> {
    const res = await server.http.get('/v1/balance', { token });
    expect(res.status).toBe(200);
    return res.body.available as number;
  }

  async function movementCount(token: string): Promise<number> {
    const res = await server.http.get('/v1/balance/transactions?limit=100', { token });
    return (res.body.data as unknown[]).length;
  }

  function auditRows(userId: string) {
    return server.service.ctx.store.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'balance.adjusted')
      .where('target_id', '=', userId)
      .orderBy('id')
      .execute();
  }

  it('lets finance credit a balance: 201 with the adjustment, one ledger movement, one audit row', async () => {
    const customer = await server.customer();
    const res = await adjust(finance.token, { user_id: customer.id, amount: 500, reason: 'goodwill credit' });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({
      user_id: customer.id,
      amount: 500,
      currency: 'CNY',
      reason: 'goodwill credit',
      actor_id: finance.id,
      balance_after: 500,
    });
    expect(res.body.id).toMatch(/^adj_/);
    expect(res.body.transaction_id).toMatch(/^txn_/);
    expect(res.body.created_at).toMatch(RFC3339_UTC);
    expect(await balanceOf(customer.token)).toBe(500);

    const movements = await server.http.get('/v1/balance/transactions', { token: customer.token });
    expect(movements.body.data).toEqual([
      expect.objectContaining({ id: res.body.transaction_id, amount: 500, kind: 'adjustment', ref: res.body.id, balance_after: 500 }),
    ]);

    const audit = await auditRows(customer.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: `staff:${finance.id}`, target_type: 'user', target_id: customer.id });
    expect(JSON.parse(audit[0]?.data ?? '{}')).toMatchObject({ adjustment_id: res.body.id, amount: 500, reason: 'goodwill credit' });

    const report = await server.verify();
    expect(report.platform['platform:adjustments']).toBeDefined();
  });

  it('lets an admin adjust too', async () => {
    const customer = await server.customer();
    const admin = await server.adminToken();
    const adminId = (await server.http.get('/v1/me', { token: admin })).body.id as string;
    const res = await adjust(admin, { user_id: customer.id, amount: 300, reason: 'admin fix' });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ actor_id: adminId, amount: 300, balance_after: 300 });
    expect(await balanceOf(customer.token)).toBe(300);
    expect((await auditRows(customer.id))[0]?.actor).toBe(`staff:${adminId}`);
    await server.verify();
  });

  it('debits with a negative amount, down to exactly zero but never below (422 INSUFFICIENT_BALANCE)', async () => {
    const customer = await server.customer();
    await adjust(finance.token, { user_id: customer.id, amount: 500, reason: 'credit' });
    const debit = await adjust(finance.token, { user_id: customer.id, amount: -200, reason: 'clawback' });
    expect(debit.status, debit.text).toBe(201);
    expect(debit.body).toMatchObject({ amount: -200, balance_after: 300 });

    const tooMuch = await adjust(finance.token, { user_id: customer.id, amount: -301, reason: 'too much' });
    expectProblem(tooMuch, 422, 'INSUFFICIENT_BALANCE');
    expect(await balanceOf(customer.token)).toBe(300);
    expect(await movementCount(customer.token)).toBe(2);
    // The refused debit rolled back whole: no adjustment row and no audit row for it.
    expect(await auditRows(customer.id)).toHaveLength(2);
    const rows = await server.service.ctx.store.db
      .selectFrom('adjustments')
      .select('amount')
      .where('customer_id', '=', customer.id)
      .execute();
    expect(rows.map((r) => Number(r.amount)).sort((a, b) => a - b)).toEqual([-200, 500]);

    const all = await adjust(finance.token, { user_id: customer.id, amount: -300, reason: 'close out' });
    expect(all.status).toBe(201);
    expect(all.body.balance_after).toBe(0);
    expect(await balanceOf(customer.token)).toBe(0);

    const movements = await server.http.get('/v1/balance/transactions', { token: customer.token });
    expect((movements.body.data as { amount: number }[]).map((m) => m.amount)).toEqual([-300, -200, 500]);
    await server.verify();
  });

  it('debits on an empty balance are refused', async () => {
    const customer = await server.customer();
    expectProblem(await adjust(finance.token, { user_id: customer.id, amount: -1, reason: 'x' }), 422, 'INSUFFICIENT_BALANCE');
    expect(await movementCount(customer.token)).toBe(0);
    await server.verify();
  });

  it('answers 404 NOT_FOUND for an unknown user and for a staff user, and writes nothing', async () => {
    const before = await server.service.ctx.store.db.selectFrom('adjustments').select('id').execute();
    expectProblem(await adjust(finance.token, { user_id: 'usr_does_not_exist', amount: 100, reason: 'x' }), 404, 'NOT_FOUND');
    const agent = await server.staff('cs_agent');
    expectProblem(await adjust(finance.token, { user_id: agent.id, amount: 100, reason: 'x' }), 404, 'NOT_FOUND');
    const after = await server.service.ctx.store.db.selectFrom('adjustments').select('id').execute();
    expect(after).toHaveLength(before.length);
    await server.verify();
  });

  it.each([
    ['a zero amount', { amount: 0 }, 'amount'],
    ['the amount as a string', { amount: '100' }, 'amount'],
    ['a fractional amount', { amount: 10.5 }, 'amount'],
    ['an absurdly large amount', { amount: 10 ** 15 }, 'amount'],
    ['a missing reason', { reason: undefined }, 'reason'],
    ['an empty reason', { reason: '' }, 'reason'],
    ['a missing user_id', { user_id: undefined }, 'user_id'],
    ['an unknown field', { currency: 'CNY' }, 'currency'],
  ])('refuses %s with 400 VALIDATION_FAILED and changes nothing', async (_case, overrides, field) => {
    const customer = await server.customer();
    const res = await adjust(finance.token, { user_id: customer.id, amount: 100, reason: 'r', ...overrides });
    expectFieldError(res, field);
    expect(await balanceOf(customer.token)).toBe(0);
    expect(await auditRows(customer.id)).toHaveLength(0);
  });

  it('requires an Idempotency-Key (400 IDEMPOTENCY_KEY_REQUIRED)', async () => {
    const customer = await server.customer();
    const res = await adjust(finance.token, { user_id: customer.id, amount: 100, reason: 'r' }, null);
    expectProblem(res, 400, 'IDEMPOTENCY_KEY_REQUIRED');
    expect(await balanceOf(customer.token)).toBe(0);
  });

  it('replays the same key and body once, refuses a different body, and writes one audit row', async () => {
    const customer = await server.customer();
    const body = { user_id: customer.id, amount: 700, reason: 'replay me' };
    const first = await adjust(finance.token, body, 'adj-key-1');
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await adjust(finance.token, body, 'adj-key-1');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);

    const other = await adjust(finance.token, { ...body, amount: 701 }, 'adj-key-1');
    expectProblem(other, 422, 'IDEMPOTENCY_KEY_REUSED');

    expect(await balanceOf(customer.token)).toBe(700);
    expect(await movementCount(customer.token)).toBe(1);
    expect(await auditRows(customer.id)).toHaveLength(1);
    await server.verify();
  });

  it('scopes keys per caller: another staff member with the same key makes their own adjustment', async () => {
    const customer = await server.customer();
    const otherFinance = await server.staff('finance');
    const body = { user_id: customer.id, amount: 100, reason: 'shared key' };
    const a = await adjust(finance.token, body, 'same-key-two-callers');
    const b = await adjust(otherFinance.token, body, 'same-key-two-callers');
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(b.body.id).not.toBe(a.body.id);
    expect(b.body.actor_id).toBe(otherFinance.id);
    expect(await balanceOf(customer.token)).toBe(200);
    await server.verify();
  });

  it.each(['cs_agent', 'cs_supervisor'] as const)('answers 403 FORBIDDEN to a %s and changes nothing', async (role) => {
    const customer = await server.customer();
    const staff = await server.staff(role);
    const res = await adjust(staff.token, { user_id: customer.id, amount: 100, reason: 'not mine to give' });
    expectProblem(res, 403, 'FORBIDDEN');
    expect(await balanceOf(customer.token)).toBe(0);
    expect(await auditRows(customer.id)).toHaveLength(0);
  });

  it('answers 403 FORBIDDEN to a customer (even for their own balance) and 401 without a token', async () => {
    const customer = await server.customer();
    expectProblem(await adjust(customer.token, { user_id: customer.id, amount: 100_000, reason: 'free money' }), 403, 'FORBIDDEN');
    expectProblem(await adjust(null, { user_id: customer.id, amount: 100_000, reason: 'free money' }), 401, 'UNAUTHENTICATED');
    expect(await balanceOf(customer.token)).toBe(0);
    await server.verify();
  });
});
