import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARDS, card, recharge } from '../../test/support/recharge-helpers.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';

describe('staff read-only views: dashboard, customer history, audit trail', () => {
  let server: TestServer;
  let customer: { id: string; token: string };

  beforeAll(async () => {
    server = await startTestServer();
    customer = await server.customer();
    expect((await recharge(server.http, customer.token, 10_000, 'bank_card', card(CARDS.bank))).status).toBe(201);
    expect((await recharge(server.http, customer.token, 6604, 'bank_card', card(CARDS.bank))).body.status).toBe('failed');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('dashboard: per-day success rate and failures by code and provider', async () => {
    const agent = await server.staff('cs_agent');
    const res = await server.http.get('/v1/admin/dashboard?days=7&utc_offset_minutes=480', { token: agent.token });
    expect(res.status, res.text).toBe(200);
    expect(res.body.days).toHaveLength(7);
    const today = res.body.recharges.at(-1);
    expect(today).toMatchObject({ total: 2, succeeded: 1, failed: 1, succeeded_amount: 10_000, success_rate: 0.5 });
    expect(res.body.failures).toEqual([expect.objectContaining({ code: 'INSUFFICIENT_FUNDS', provider: 'sandbox_unionpay_a', count: 1 })]);
    expect(res.body.refunds).toHaveLength(7);
    expect(res.body.sla_breaches).toHaveLength(7);
    expect(res.body.sla_open_breached).toBe(0);
  });

  it('dashboard: customers and anonymous callers are refused; bad query is VALIDATION_FAILED', async () => {
    expect((await server.http.get('/v1/admin/dashboard', { token: customer.token })).body.code).toBe('FORBIDDEN');
    expect((await server.http.get('/v1/admin/dashboard')).status).toBe(401);
    const agent = await server.staff('cs_agent');
    const bad = await server.http.get('/v1/admin/dashboard?days=1000', { token: agent.token });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it('customer history: account, balance, recharges; unknown or staff ids are NOT_FOUND', async () => {
    const agent = await server.staff('cs_agent');
    const res = await server.http.get(`/v1/admin/customers/${customer.id}`, { token: agent.token });
    expect(res.status, res.text).toBe(200);
    expect(res.body.user.id).toBe(customer.id);
    expect(res.body.balance.available).toBe(10_000);
    expect(res.body.recharges.map((r: { status: string }) => r.status)).toEqual(['failed', 'succeeded']);
    expect((await server.http.get('/v1/admin/customers/usr_nope', { token: agent.token })).status).toBe(404);
    expect((await server.http.get(`/v1/admin/customers/${agent.id}`, { token: agent.token })).status).toBe(404);
    expect((await server.http.get(`/v1/admin/customers/${customer.id}`, { token: customer.token })).status).toBe(403);
  });

  it('audit: newest first, filtered, paged; agents are refused', async () => {
    const admin = await server.adminToken();
    const supervisor = await server.staff('cs_supervisor');
    await server.staff('finance');
    const all = await server.http.get('/v1/admin/audit?limit=1', { token: supervisor.token });
    expect(all.status, all.text).toBe(200);
    expect(all.body.data).toHaveLength(1);
    expect(all.body.next_cursor).toEqual(expect.any(String));
    const next = await server.http.get(`/v1/admin/audit?limit=1&cursor=${all.body.next_cursor}`, { token: admin });
    expect(next.body.data[0].id < all.body.data[0].id).toBe(true);
    const filtered = await server.http.get(`/v1/admin/audit?target_id=${supervisor.id}`, { token: admin });
    expect(filtered.body.data.length).toBeGreaterThan(0);
    for (const entry of filtered.body.data) {
      expect(entry.target_id).toBe(supervisor.id);
      expect(typeof entry.data).toBe('object');
    }
    const agent = await server.staff('cs_agent');
    expect((await server.http.get('/v1/admin/audit', { token: agent.token })).status).toBe(403);
    expect((await server.http.get('/v1/admin/audit')).status).toBe(401);
  });
});
