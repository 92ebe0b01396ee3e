import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../../test/support/expect-problem.js';
import { eventually, recharge } from '../../test/support/recharge-helpers.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';
import { enqueueJob } from '../jobs/job-queue.js';
import { fallBackToBalance } from '../refunds/payout-refund.js';
import type { NotificationsTable } from '../store/schema.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000' } });
});
afterAll(async () => {
  await server?.close();
});

async function register(options: { phone?: string; locale?: 'zh-CN' | 'en' } = {}) {
  const email = `n-${randomUUID()}@example.com`;
  const res = await server.http.post('/v1/auth/register', { email, password: 'customer-pass-1', ...options });
  expect(res.status, res.text).toBe(201);
  return { id: res.body.user.id as string, token: res.body.token as string, email };
}

async function messages(customerId: string): Promise<NotificationsTable[]> {
  return server.service.ctx.store.db.selectFrom('notifications').selectAll().where('customer_id', '=', customerId).orderBy('id').execute();
}

async function events(customerId: string) {
  return server.service.ctx.store.db.selectFrom('events').selectAll().where('customer_id', '=', customerId).orderBy('id').execute();
}

/** Waits until every event of the customer has been dispatched (has its in-app message). */
async function settled(customerId: string, expectedEvents: number): Promise<NotificationsTable[]> {
  await eventually(
    () => events(customerId),
    (list) => list.length >= expectedEvents,
  );
  return eventually(
    async () => messages(customerId),
    (list) =>
      list.filter((m) => m.channel === 'in_app').length >= expectedEvents &&
      list.every((m) => m.status !== 'pending' && m.status !== 'sending'),
  );
}

async function buy(token: string, amount: number) {
  const res = await server.http.post('/v1/purchases', { amount, description: 'api calls' }, { token, key: true });
  expect(res.status, res.text).toBe(201);
}

describe('one event path: every contract event that exists is told in-app exactly once', () => {
  it('recharges, automatic refunds (approved, succeeded, failed to balance), balance.low and auto_recharge.failed', async () => {
    const c = await register({ phone: '13800138000' });
    const ok = await recharge(server.http, c.token, 10_000, 'alipay'); // recharge.succeeded
    expect(ok.body.status).toBe('succeeded');
    const declined = await recharge(server.http, c.token, 6604, 'alipay'); // recharge.failed
    expect(declined.body.status).toBe('failed');

    // 6606 collects twice: the duplicate becomes an automatic refund (refund.approved), settled a day later (refund.succeeded).
    await recharge(server.http, c.token, 6606, 'bank_card');
    // A second duplicate whose payout the channel refuses for good: the money falls back to the balance (refund.failed).
    await recharge(server.http, c.token, 6606, 'alipay');
    const refunds = await eventually(
      async () => (await server.http.get('/v1/refunds', { token: c.token })).body.data as { id: string; status: string }[],
      (list) => list.length === 2 && list.every((r) => r.status === 'processing'),
    );
    const [toFail, toSucceed] = refunds;
    expect(await fallBackToBalance(server.service.ctx, toFail?.id ?? '', 'payer account closed')).toBe(true);
    await server.advance(60);
    await server.advance(24 * 3600);
    expect((await server.http.get(`/v1/refunds/${toSucceed?.id}`, { token: c.token })).body.status).toBe('succeeded');

    // balance.low: the reminder threshold is crossed by a purchase.
    // Balance now: 10000 + 6606 + 6606 (the duplicate that fell back to the balance) + 6606 = 29818.
    expect((await server.http.get('/v1/balance', { token: c.token })).body.available).toBe(29_818);
    expect((await server.http.put('/v1/balance/reminder', { threshold: 29_800 }, { token: c.token })).status).toBe(200);
    await buy(c.token, 100);

    // auto_recharge.failed (with its recharge.failed): the top-up from the earlier recharge is declined (6604).
    const auto = await server.http.put(
      '/v1/balance/auto-recharge',
      { enabled: true, threshold: 29_700, amount: 6604, from_recharge_id: ok.body.id },
      { token: c.token },
    );
    expect(auto.status, auto.text).toBe(200);
    await buy(c.token, 100);

    const told = await settled(c.id, 11);
    const all = await events(c.id);
    const types = all.map((e) => e.type).sort();
    expect(types).toEqual(
      [
        'auto_recharge.failed',
        'balance.low',
        'recharge.failed',
        'recharge.failed',
        'recharge.succeeded',
        'recharge.succeeded',
        'recharge.succeeded',
        'refund.approved',
        'refund.approved',
        'refund.failed',
        'refund.succeeded',
      ].sort(),
    );
    for (const event of all) {
      const inApp = told.filter((m) => m.event_id === event.id && m.channel === 'in_app');
      expect(inApp, `${event.type} ${event.id}`).toHaveLength(1);
      expect(inApp[0]).toMatchObject({ status: 'delivered', event: event.type, subject_id: event.subject_id });
      expect(inApp[0]?.delivered_at).not.toBeNull();
    }

    // What the customer reads: newest first, zh-CN by default, ¥ amounts.
    const list = await server.http.get('/v1/notifications?channel=in_app&limit=100', { token: c.token });
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(all.length);
    const ids = list.body.data.map((n: { id: string }) => n.id);
    expect(ids).toEqual([...ids].sort().reverse());
    const byEvent = (type: string) => list.body.data.find((n: { event: string }) => n.event === type);
    expect(byEvent('recharge.succeeded')).toMatchObject({ channel: 'in_app', status: 'delivered' });
    expect(byEvent('recharge.failed').body).toContain('¥66.04');
    // The failure's own customer message (with its next step) is part of the text.
    expect(list.body.data.some((n: { event: string; body: string }) => n.event === 'recharge.failed' && n.body.includes('余额不足'))).toBe(
      true,
    );
    expect(byEvent('refund.failed').title).toContain('充值账户余额');
    expect(byEvent('refund.failed').body).toContain('Topup 充值账户余额');
    expect(byEvent('balance.low').body).toContain('¥297.18');
    expect(byEvent('balance.low').body).toContain('¥298.00');
    expect(byEvent('auto_recharge.failed').title).toBe('自动充值未成功');

    // SMS goes for recharge.failed, refund outcomes and balance.low only (a phone is on file); email for everything.
    const sms = told.filter((m) => m.channel === 'sms').map((m) => m.event);
    expect(sms.sort()).toEqual(
      [
        'balance.low',
        'recharge.failed',
        'recharge.failed',
        'refund.approved',
        'refund.approved',
        'refund.failed',
        'refund.succeeded',
      ].sort(),
    );
    expect(told.filter((m) => m.channel === 'email')).toHaveLength(all.length);
    // Without SMTP_URL and with the recording SMS provider nothing leaves: all kept in the outbox.
    for (const m of told.filter((x) => x.channel !== 'in_app')) {
      expect(m).toMatchObject({ status: 'kept', delivered_at: null });
    }
    await server.verify();
  });

  it('running the dispatch again (a crash after it committed, a lease takeover) writes nothing twice', async () => {
    const c = await register({ phone: '+8613900139000' });
    await recharge(server.http, c.token, 6604, 'alipay');
    const before = await settled(c.id, 1);
    expect(before.map((m) => m.channel).sort()).toEqual(['email', 'in_app', 'sms']);
    const [event] = await events(c.id);
    const ctx = server.service.ctx;
    // Two extra dispatch jobs for the same event, without the dedupe key that normally stops them.
    await enqueueJob(ctx.store.db, { type: 'event.dispatch', payload: { eventId: event?.id } }, ctx.clock.now());
    await enqueueJob(ctx.store.db, { type: 'event.dispatch', payload: { eventId: event?.id } }, ctx.clock.now());
    await server.service.worker.runAllDue();
    const after = await messages(c.id);
    expect(after.map((m) => m.id).sort()).toEqual(before.map((m) => m.id).sort());
  });
});

describe('languages', () => {
  it('renders in the customer’s language (en), amounts as ¥1,234.56', async () => {
    const c = await register({ locale: 'en' });
    await recharge(server.http, c.token, 123_456, 'alipay');
    await recharge(server.http, c.token, 6604, 'alipay');
    await settled(c.id, 2);
    const list = (await server.http.get('/v1/notifications?channel=in_app', { token: c.token })).body.data;
    const succeeded = list.find((n: { event: string }) => n.event === 'recharge.succeeded');
    expect(succeeded.title).toBe('Recharge of ¥1,234.56 succeeded');
    expect(succeeded.body).toContain('credited to your Topup balance');
    const failed = list.find((n: { event: string }) => n.event === 'recharge.failed');
    expect(failed.title).toBe('Recharge of ¥66.04 failed');
    expect(failed.body).toContain('not have enough');
  });
});

describe('GET /v1/notifications', () => {
  it('pages newest first, filters unread, marks read; another customer’s message is 404', async () => {
    const a = await register();
    const b = await register();
    for (let i = 0; i < 3; i++) await recharge(server.http, a.token, 1_000 + i, 'alipay');
    await settled(a.id, 3);
    const first = await server.http.get('/v1/notifications?channel=in_app&limit=2', { token: a.token });
    expect(first.body.data).toHaveLength(2);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await server.http.get(`/v1/notifications?channel=in_app&limit=2&cursor=${first.body.next_cursor}`, { token: a.token });
    expect(second.body.data).toHaveLength(1);
    expect(second.body.next_cursor).toBeNull();
    const newest = first.body.data[0];
    expect(Object.keys(newest)).toEqual(
      expect.arrayContaining(['id', 'event', 'channel', 'title', 'body', 'created_at', 'delivered_at', 'read_at', 'status']),
    );

    const read = await server.http.post(`/v1/notifications/${newest.id}/read`, {}, { token: a.token });
    expect(read.status).toBe(200);
    expect(read.body.read_at).toEqual(expect.any(String));
    const unread = await server.http.get('/v1/notifications?channel=in_app&unread=true', { token: a.token });
    expect(unread.body.data.map((n: { id: string }) => n.id)).not.toContain(newest.id);
    expect(unread.body.data).toHaveLength(2);
    const all = await server.http.post('/v1/notifications/read-all', {}, { token: a.token });
    expect(all.body.updated).toBeGreaterThanOrEqual(2);

    expectProblem(await server.http.post(`/v1/notifications/${newest.id}/read`, {}, { token: b.token }), 404, 'NOT_FOUND');
    expect((await server.http.get('/v1/notifications', { token: b.token })).body.data).toEqual([]);
    expectProblem(await server.http.get('/v1/notifications'), 401, 'UNAUTHENTICATED');
    expectProblem(await server.http.get('/v1/notifications?limit=101', { token: a.token }), 400, 'VALIDATION_FAILED');
  });
});

describe('preferences', () => {
  it('turns email and SMS off per group; refund outcomes are sent anyway', async () => {
    const c = await register({ phone: '13700137000' });
    const defaults = await server.http.get('/v1/notification-preferences', { token: c.token });
    expect(defaults.status).toBe(200);
    expect(defaults.body.groups).toEqual({
      recharges: { email: true, sms: true },
      refunds: { email: true, sms: true },
      balance: { email: true, sms: true },
      tickets: { email: true, sms: true },
    });
    expect(defaults.body.always_sent).toEqual(['refund.approved', 'refund.rejected', 'refund.succeeded', 'refund.failed']);
    expect(defaults.body.updated_at).toBeNull();

    const put = await server.http.put(
      '/v1/notification-preferences',
      { groups: { recharges: { email: false, sms: false }, refunds: { email: false, sms: false } } },
      { token: c.token },
    );
    expect(put.status, put.text).toBe(200);
    expect(put.body.groups.recharges).toEqual({ email: false, sms: false });
    expect(put.body.groups.balance).toEqual({ email: true, sms: true });
    expect(put.body.updated_at).toEqual(expect.any(String));
    // A partial change keeps the rest.
    const partial = await server.http.put('/v1/notification-preferences', { groups: { recharges: { sms: true } } }, { token: c.token });
    expect(partial.body.groups.recharges).toEqual({ email: false, sms: true });

    await recharge(server.http, c.token, 6604, 'alipay'); // recharge.failed: in-app and SMS only now
    await recharge(server.http, c.token, 6606, 'alipay'); // recharge.succeeded (in-app only) + refund.approved (always sent)
    const told = await settled(c.id, 3);
    const channels = (type: string) =>
      told
        .filter((m) => m.event === type)
        .map((m) => m.channel)
        .sort();
    expect(channels('recharge.failed')).toEqual(['in_app', 'sms']);
    expect(channels('recharge.succeeded')).toEqual(['in_app']);
    expect(channels('refund.approved')).toEqual(['email', 'in_app', 'sms']);

    expectProblem(
      await server.http.put('/v1/notification-preferences', { groups: { marketing: { email: false } } }, { token: c.token }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await server.http.put('/v1/notification-preferences', { groups: { recharges: { email: 'false' } } }, { token: c.token }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(await server.http.put('/v1/notification-preferences', { groups: {} }), 401, 'UNAUTHENTICATED');
  });
});

describe('GET /v1/admin/outbox', () => {
  it('shows staff the kept email and SMS with recipient; customers are forbidden', async () => {
    const c = await register({ phone: '13600136000' });
    await recharge(server.http, c.token, 6604, 'alipay');
    await settled(c.id, 1);
    const agent = await server.staff('cs_agent');
    const res = await server.http.get(`/v1/admin/outbox?customer_id=${c.id}`, { token: agent.token });
    expect(res.status, res.text).toBe(200);
    expect(res.body.data.map((m: { channel: string }) => m.channel).sort()).toEqual(['email', 'sms']);
    const email = res.body.data.find((m: { channel: string }) => m.channel === 'email');
    expect(email).toMatchObject({ recipient: c.email, status: 'kept', provider: 'outbox', event: 'recharge.failed', delivered_at: null });
    // …and the exact message that would have gone out is dropped in DATA_DIR/mail.
    const eml = fs.readFileSync(path.join(server.db.dataDir, 'mail', `${email.id}.eml`), 'utf8');
    expect(eml).toContain(`Message-ID: <${email.id}@topup>`);
    expect(eml).toContain(`To: ${c.email}`);
    const sms = res.body.data.find((m: { channel: string }) => m.channel === 'sms');
    expect(sms).toMatchObject({ recipient: '13600136000', status: 'kept', provider: 'recording' });
    expect(sms.body).toContain('¥66.04');
    const kept = await server.http.get(`/v1/admin/outbox?customer_id=${c.id}&channel=sms&status=kept`, { token: agent.token });
    expect(kept.body.data).toHaveLength(1);
    // The customer sees the same messages in their own list.
    const own = await server.http.get('/v1/notifications?channel=email', { token: c.token });
    expect(own.body.data[0]).toMatchObject({ status: 'kept', delivered_at: null, event: 'recharge.failed' });

    expectProblem(await server.http.get('/v1/admin/outbox', { token: c.token }), 403, 'FORBIDDEN');
    const finance = await server.staff('finance');
    expectProblem(await server.http.get('/v1/admin/outbox', { token: finance.token }), 403, 'FORBIDDEN');
    expectProblem(await server.http.get('/v1/admin/outbox'), 401, 'UNAUTHENTICATED');
    expect((await server.http.get('/v1/admin/outbox', { token: await server.adminToken() })).status).toBe(200);
  });
});

describe('OpenAPI', () => {
  it('describes the notification and webhook operations', async () => {
    const doc = (await server.http.get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    for (const [path, methods] of Object.entries({
      '/v1/notifications': ['get'],
      '/v1/notifications/{id}/read': ['post'],
      '/v1/notification-preferences': ['get', 'put'],
      '/v1/admin/outbox': ['get'],
      '/v1/webhook-endpoints': ['get', 'post'],
      '/v1/webhook-endpoints/{id}': ['get', 'delete'],
      '/v1/webhook-endpoints/{id}/rotate-secret': ['post'],
      '/v1/webhook-endpoints/{id}/deliveries': ['get'],
    })) {
      for (const method of methods) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
  });
});
