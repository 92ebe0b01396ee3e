import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../../test/support/expect-problem.js';
import { eventually, recharge } from '../../test/support/recharge-helpers.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';
import { WEBHOOK_RETRY_SCHEDULE_S } from './deliver-webhook.js';

interface Hit {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** An integrator's receiver on loopback: records every request, answers statuses from a script (then 200). */
async function startReceiver() {
  const hits: Hit[] = [];
  const script = new Map<string, number[]>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const path = request.url ?? '/';
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(request.headers)) if (typeof v === 'string') headers[k] = v;
      hits.push({ path, headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const statuses = script.get(path) ?? [];
      const status = statuses.length > 0 ? (statuses.shift() ?? 200) : 200;
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(status === 200 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    hits: (path: string) => hits.filter((h) => h.path === path),
    /** The next answers for `path` (e.g. [500] = fail once, then 200); `always` repeats one status. */
    answer(path: string, statuses: number[]) {
      script.set(path, [...statuses]);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

let server: TestServer;
let receiver: Receiver;
let path = 0;
beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer({ env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000' } });
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

function freshPath(): string {
  path++;
  return `/hooks/${path}`;
}

async function createEndpoint(token: string, url: string, events: string[] = ['recharge.succeeded', 'recharge.failed']) {
  const res = await server.http.post('/v1/webhook-endpoints', { url, events }, { token });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; secret: string; url: string; events: string[] };
}

async function deliveries(token: string, endpointId: string) {
  const res = await server.http.get(`/v1/webhook-endpoints/${endpointId}/deliveries?limit=100`, { token });
  expect(res.status, res.text).toBe(200);
  return res.body.data as {
    id: string;
    event: string;
    status: string;
    attempts: number;
    next_attempt_at: string | null;
    log: { n: number; at: string; sent_at: string; status_code: number | null; error: string | null }[];
  }[];
}

/**
 * Moves the test clock through the whole retry schedule. After each step it waits until every
 * delivery has recorded its attempt, so the clock never jumps while an attempt is in flight
 * (the background worker may be the one running it).
 */
async function retryThroughSchedule(token: string, endpointId: string, count: number) {
  for (const [i, step] of WEBHOOK_RETRY_SCHEDULE_S.entries()) {
    await server.advance(step + 1);
    await eventually(
      () => deliveries(token, endpointId),
      (list) => list.length === count && list.every((d) => d.attempts === i + 2),
    );
  }
}

function verify(secret: string, hit: Hit) {
  return new Webhook(secret).verify(hit.body, hit.headers) as { type: string; timestamp: string; data: Record<string, unknown> };
}

describe('webhook endpoints', () => {
  it('creates, lists, reads and deletes; secrets are whsec_ and the answer carries the listed fields', async () => {
    const c = await server.customer();
    const url = receiver.url(freshPath());
    const created = await server.http.post(
      '/v1/webhook-endpoints',
      { url, events: ['recharge.succeeded', 'refund.succeeded'], description: 'billing backend' },
      { token: c.token },
    );
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^whe_/),
      url,
      events: ['recharge.succeeded', 'refund.succeeded'],
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+=*$/),
      status: 'enabled',
      description: 'billing backend',
      disabled_at: null,
      created_at: expect.any(String),
    });
    expect(Buffer.from(created.body.secret.slice(6), 'base64')).toHaveLength(24);
    const list = await server.http.get('/v1/webhook-endpoints', { token: c.token });
    expect(list.body.data.map((e: { id: string }) => e.id)).toEqual([created.body.id]);
    expect((await server.http.get(`/v1/webhook-endpoints/${created.body.id}`, { token: c.token })).body.url).toBe(url);

    const deleted = await server.http.delete(`/v1/webhook-endpoints/${created.body.id}`, { token: c.token });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expectProblem(await server.http.get(`/v1/webhook-endpoints/${created.body.id}`, { token: c.token }), 404, 'NOT_FOUND');
    expectProblem(await server.http.delete(`/v1/webhook-endpoints/${created.body.id}`, { token: c.token }), 404, 'NOT_FOUND');
    expect((await server.http.get('/v1/webhook-endpoints', { token: c.token })).body.data).toEqual([]);
  });

  it('validates the body: events from the contract list, strict fields, http(s) URLs only', async () => {
    const c = await server.customer();
    const url = receiver.url(freshPath());
    const post = (body: unknown) => server.http.post('/v1/webhook-endpoints', body, { token: c.token });
    expectProblem(await post({ url, events: ['recharge.exploded'] }), 400, 'VALIDATION_FAILED');
    expectProblem(await post({ url, events: [] }), 400, 'VALIDATION_FAILED');
    expectProblem(await post({ url, events: ['recharge.failed', 'recharge.failed'] }), 400, 'VALIDATION_FAILED');
    expectProblem(await post({ url, events: ['recharge.failed'], secret: 'mine' }), 400, 'VALIDATION_FAILED');
    expectProblem(await post({ events: ['recharge.failed'] }), 400, 'VALIDATION_FAILED');
    for (const bad of ['ftp://127.0.0.1/x', 'file:///etc/passwd', 'not a url', 'http://user:pass@127.0.0.1/x']) {
      const res = await post({ url: bad, events: ['recharge.failed'] });
      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'url' })]);
    }
  });

  it('security: no token 401; another customer’s endpoint is 404 on every route', async () => {
    const owner = await server.customer();
    const other = await server.customer();
    const endpoint = await createEndpoint(owner.token, receiver.url(freshPath()));
    expectProblem(
      await server.http.post('/v1/webhook-endpoints', { url: receiver.url('/x'), events: ['recharge.failed'] }),
      401,
      'UNAUTHENTICATED',
    );
    expectProblem(await server.http.get('/v1/webhook-endpoints'), 401, 'UNAUTHENTICATED');
    expectProblem(await server.http.delete(`/v1/webhook-endpoints/${endpoint.id}`), 401, 'UNAUTHENTICATED');
    const asOther = { token: other.token };
    expectProblem(await server.http.get(`/v1/webhook-endpoints/${endpoint.id}`, asOther), 404, 'NOT_FOUND');
    expectProblem(await server.http.delete(`/v1/webhook-endpoints/${endpoint.id}`, asOther), 404, 'NOT_FOUND');
    expectProblem(await server.http.get(`/v1/webhook-endpoints/${endpoint.id}/deliveries`, asOther), 404, 'NOT_FOUND');
    expectProblem(await server.http.post(`/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, {}, asOther), 404, 'NOT_FOUND');
    expectProblem(await server.http.post(`/v1/webhook-endpoints/${endpoint.id}/enable`, {}, asOther), 404, 'NOT_FOUND');
    expect((await server.http.get('/v1/webhook-endpoints', asOther)).body.data).toEqual([]);
    // Staff are not integrators.
    const agent = await server.staff('cs_agent');
    expectProblem(await server.http.get('/v1/webhook-endpoints', { token: agent.token }), 403, 'FORBIDDEN');
    // Still there for its owner.
    expect((await server.http.get(`/v1/webhook-endpoints/${endpoint.id}`, { token: owner.token })).status).toBe(200);
  });
});

describe('deliveries (Standard Webhooks)', () => {
  it('delivers the subscribed events within seconds, signed, with the recharge as GET /v1/recharges/{id} shows it', async () => {
    // The service clock runs a day ahead: webhook-timestamp must still be real time.
    await server.advance(86_400);
    const c = await server.customer();
    const hook = freshPath();
    const endpoint = await createEndpoint(c.token, receiver.url(hook));
    const started = Date.now();
    const ok = await recharge(server.http, c.token, 10_000, 'alipay');
    await recharge(server.http, c.token, 6604, 'alipay');
    await server.http.put('/v1/balance/reminder', { threshold: 20_000 }, { token: c.token }); // no balance.low subscription
    const hits = await eventually(
      async () => receiver.hits(hook),
      (list) => list.length === 2,
    );
    expect(hits[0] ? hits[0].at - started : Number.POSITIVE_INFINITY).toBeLessThan(10_000);
    const bodies = hits.map((h) => verify(endpoint.secret, h));
    const succeeded = bodies.find((b) => b.type === 'recharge.succeeded');
    const view = (await server.http.get(`/v1/recharges/${ok.body.id}`, { token: c.token })).body;
    expect(succeeded?.data).toEqual(view);
    expect(succeeded?.timestamp).toEqual(expect.any(String));
    const failed = bodies.find((b) => b.type === 'recharge.failed');
    expect(failed?.data).toMatchObject({ status: 'failed', amount: 6604, failure: { code: 'INSUFFICIENT_FUNDS' } });
    for (const h of hits) {
      expect(h.headers['content-type']).toBe('application/json');
      expect(h.headers['webhook-id']).toMatch(/^whd_/);
      expect(h.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(Math.abs(Number(h.headers['webhook-timestamp']) * 1000 - h.at)).toBeLessThan(5_000);
    }
    // A wrong secret does not verify.
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(24, 7).toString('base64')}`).verify(hits[0]?.body ?? '', hits[0]?.headers ?? {}),
    ).toThrow();

    const log = await deliveries(c.token, endpoint.id);
    expect(log).toHaveLength(2);
    for (const d of log) {
      expect(d).toMatchObject({ status: 'succeeded', attempts: 1, next_attempt_at: null });
      expect(d.log).toEqual([expect.objectContaining({ n: 1, status_code: 200, error: null })]);
    }
    expect(log.map((d) => d.id).sort()).toEqual(hits.map((h) => h.headers['webhook-id']).sort());
  });

  it('sends refund events with the refund as GET /v1/refunds/{id} shows it, and balance.low with the balance', async () => {
    const c = await server.customer();
    const hook = freshPath();
    const endpoint = await createEndpoint(c.token, receiver.url(hook), ['refund.approved', 'refund.succeeded', 'balance.low']);
    await recharge(server.http, c.token, 6606, 'alipay'); // the duplicate collection is refunded automatically
    const [approved] = await eventually(
      async () => receiver.hits(hook),
      (list) => list.length === 1,
    );
    const body = verify(endpoint.secret, approved as Hit);
    expect(body.type).toBe('refund.approved');
    const refundId = String(body.data.id);
    const view = (await server.http.get(`/v1/refunds/${refundId}`, { token: c.token })).body;
    expect(Object.keys(body.data).sort()).toEqual(Object.keys(view).sort());
    expect(body.data).toMatchObject({
      id: view.id,
      recharge_id: view.recharge_id,
      amount: 6606,
      reason: 'duplicate_charge',
      automatic: true,
    });
    await server.advance(60);
    await server.advance(3600); // wallets settle within minutes
    const hits = await eventually(
      async () => receiver.hits(hook),
      (list) => list.length === 2,
    );
    const succeeded = verify(endpoint.secret, hits[1] as Hit);
    expect(succeeded).toMatchObject({ type: 'refund.succeeded', data: { id: refundId, status: 'succeeded' } });

    await server.http.put('/v1/balance/reminder', { threshold: 5_000 }, { token: c.token });
    const buy = await server.http.post('/v1/purchases', { amount: 2_000, description: 'api' }, { token: c.token, key: true });
    expect(buy.status).toBe(201);
    const all = await eventually(
      async () => receiver.hits(hook),
      (list) => list.length === 3,
    );
    expect(verify(endpoint.secret, all[2] as Hit)).toMatchObject({
      type: 'balance.low',
      data: { object: 'balance', customer_id: c.id, currency: 'CNY', available: 4_606, threshold: 5_000 },
    });
  });

  it('retries on the service clock (500, then 200 after 30 s) with the same webhook-id, each attempt logged', async () => {
    const c = await server.customer();
    const hook = freshPath();
    receiver.answer(hook, [500]);
    const endpoint = await createEndpoint(c.token, receiver.url(hook), ['recharge.succeeded']);
    await recharge(server.http, c.token, 10_000, 'alipay');
    const [first] = await eventually(
      () => deliveries(c.token, endpoint.id),
      (list) => list.length === 1 && list[0]?.attempts === 1,
    );
    expect(first).toMatchObject({ status: 'pending', attempts: 1 });
    expect(first?.log[0]).toMatchObject({ status_code: 500, error: 'HTTP 500' });
    const firstAt = Date.parse(first?.log[0]?.at ?? '');
    expect(Date.parse(first?.next_attempt_at ?? '') - firstAt).toBe(30_000);

    await server.advance(20); // not due yet
    expect(receiver.hits(hook)).toHaveLength(1);
    await server.advance(11);
    const [done] = await eventually(
      () => deliveries(c.token, endpoint.id),
      (list) => list[0]?.status === 'succeeded',
    );
    expect(done?.attempts).toBe(2);
    expect(done?.log.map((l) => l.status_code)).toEqual([500, 200]);
    expect(Date.parse(done?.log[1]?.at ?? '') - firstAt).toBeGreaterThanOrEqual(30_000);
    const hits = receiver.hits(hook);
    expect(hits).toHaveLength(2);
    expect(hits[0]?.headers['webhook-id']).toBe(hits[1]?.headers['webhook-id']);
    expect(hits[0]?.body).toBe(hits[1]?.body);
    for (const h of hits) expect(verify(endpoint.secret, h).type).toBe('recharge.succeeded');
  });

  it('follows the backoff schedule for ~3 days, then disables an endpoint whose 5 consecutive events all failed and tells its owner', async () => {
    const c = await server.customer();
    const hook = freshPath();
    receiver.answer(hook, Array(200).fill(500));
    const endpoint = await createEndpoint(c.token, receiver.url(hook), ['recharge.succeeded']);
    for (let i = 0; i < 5; i++) await recharge(server.http, c.token, 1_000 + i, 'alipay');
    await eventually(
      () => deliveries(c.token, endpoint.id),
      (list) => list.length === 5 && list.every((d) => d.attempts === 1),
    );
    await retryThroughSchedule(c.token, endpoint.id, 5);
    const log = await eventually(
      () => deliveries(c.token, endpoint.id),
      (list) => list.every((d) => d.status === 'failed'),
    );
    for (const d of log) {
      expect(d.attempts).toBe(WEBHOOK_RETRY_SCHEDULE_S.length + 1);
      const times = d.log.map((l) => Date.parse(l.at));
      const gaps = times.slice(1).map((t, i) => (t - (times[i] ?? 0)) / 1000);
      gaps.forEach((gap, i) => {
        const planned = WEBHOOK_RETRY_SCHEDULE_S[i] ?? 0;
        expect(gap).toBeGreaterThanOrEqual(planned);
        expect(gap).toBeLessThan(planned + 5);
      });
      // The first retry within a minute, the last about three days after the first attempt.
      expect(gaps[0]).toBeLessThan(60);
      const span = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 3600_000;
      expect(span).toBeGreaterThan(70);
      expect(span).toBeLessThan(72);
    }
    expect(new Set(receiver.hits(hook).map((h) => h.headers['webhook-id'])).size).toBe(5);

    const after = (await server.http.get(`/v1/webhook-endpoints/${endpoint.id}`, { token: c.token })).body;
    expect(after).toMatchObject({ status: 'disabled', disabled_reason: 'every retry of 5 consecutive events failed' });
    expect(after.disabled_at).toEqual(expect.any(String));
    const notices = await eventually(
      async () =>
        (await server.http.get('/v1/notifications?channel=in_app', { token: c.token })).body.data as { event: string; body: string }[],
      (list) => list.some((n) => n.event === 'webhook_endpoint.disabled'),
    );
    expect(notices.filter((n) => n.event === 'webhook_endpoint.disabled')).toHaveLength(1);
    expect(notices.find((n) => n.event === 'webhook_endpoint.disabled')?.body).toContain(endpoint.url);

    // Nothing more goes to a disabled endpoint; enabling it starts afresh.
    const hitsBefore = receiver.hits(hook).length;
    await recharge(server.http, c.token, 2_000, 'alipay');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.hits(hook)).toHaveLength(hitsBefore);
    receiver.answer(hook, []);
    const enabled = await server.http.post(`/v1/webhook-endpoints/${endpoint.id}/enable`, {}, { token: c.token });
    expect(enabled.body).toMatchObject({ status: 'enabled', disabled_at: null, disabled_reason: null });
    await recharge(server.http, c.token, 3_000, 'alipay');
    await eventually(
      async () => receiver.hits(hook),
      (list) => list.length === hitsBefore + 1,
    );
  });

  it('disables an endpoint that has failed for 3 days without a success', async () => {
    const c = await server.customer();
    const hook = freshPath();
    receiver.answer(hook, Array(200).fill(503));
    const endpoint = await createEndpoint(c.token, receiver.url(hook), ['recharge.succeeded']);
    await recharge(server.http, c.token, 1_000, 'alipay');
    await eventually(
      () => deliveries(c.token, endpoint.id),
      (list) => list[0]?.attempts === 1,
    );
    await retryThroughSchedule(c.token, endpoint.id, 1);
    expect((await server.http.get(`/v1/webhook-endpoints/${endpoint.id}`, { token: c.token })).body.status).toBe('enabled');
    await server.advance(2 * 3600);
    await recharge(server.http, c.token, 1_001, 'alipay');
    const disabled = await eventually(
      async () => (await server.http.get(`/v1/webhook-endpoints/${endpoint.id}`, { token: c.token })).body,
      (e) => e.status === 'disabled',
    );
    expect(disabled.disabled_reason).toBe('deliveries have failed for 3 days without a success');
  });

  it('rotates the secret: for 24 hours deliveries verify with the new and the old secret, then only the new', async () => {
    const c = await server.customer();
    const hook = freshPath();
    const endpoint = await createEndpoint(c.token, receiver.url(hook), ['recharge.succeeded']);
    const rotated = await server.http.post(`/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, {}, { token: c.token });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    await recharge(server.http, c.token, 1_000, 'alipay');
    const [during] = await eventually(
      async () => receiver.hits(hook),
      (list) => list.length === 1,
    );
    if (!during) throw new Error('no delivery');
    expect(during.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(verify(rotated.body.secret, during).type).toBe('recharge.succeeded');
    expect(verify(endpoint.secret, during).type).toBe('recharge.succeeded');

    await server.advance(24 * 3600 + 60);
    await recharge(server.http, c.token, 1_001, 'alipay');
    const hits = await eventually(
      async () => receiver.hits(hook),
      (list) => list.length === 2,
    );
    const later = hits[1];
    if (!later) throw new Error('no delivery');
    expect(verify(rotated.body.secret, later).type).toBe('recharge.succeeded');
    expect(() => verify(endpoint.secret, later)).toThrow();
  });

  it('a deleted endpoint gets nothing more; its pending retries are cancelled', async () => {
    const c = await server.customer();
    const hook = freshPath();
    receiver.answer(hook, [500]);
    const endpoint = await createEndpoint(c.token, receiver.url(hook), ['recharge.succeeded']);
    await recharge(server.http, c.token, 1_000, 'alipay');
    await eventually(
      () => deliveries(c.token, endpoint.id),
      (list) => list[0]?.attempts === 1,
    );
    expect(receiver.hits(hook)).toHaveLength(1);
    expect((await server.http.delete(`/v1/webhook-endpoints/${endpoint.id}`, { token: c.token })).status).toBe(204);
    await server.advance(31);
    await recharge(server.http, c.token, 1_001, 'alipay');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.hits(hook)).toHaveLength(1);
    const row = await server.service.ctx.store.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('endpoint_id', '=', endpoint.id)
      .execute();
    expect(row.map((r) => r.status)).toEqual(['cancelled']);
  });
});

describe('SSRF guard (TOPUP_SANDBOX=0)', () => {
  let production: TestServer;
  beforeAll(async () => {
    production = await startTestServer({ env: { TOPUP_SANDBOX: '0' } });
  });
  afterAll(async () => {
    await production?.close();
  });

  it('refuses loopback, private, link-local and non-http targets with a field error', async () => {
    const c = await production.customer();
    for (const url of [
      'http://127.0.0.1/hook',
      'http://127.1.2.3:8080/hook',
      'http://localhost:3000/hook',
      'http://10.0.0.1/hook',
      'http://172.16.5.4/hook',
      'http://192.168.1.1/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://100.64.0.1/hook',
      'http://0.0.0.0/hook',
      'http://[::1]/hook',
      'http://[fe80::1]/hook',
      'http://[fd00::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://2130706433/hook',
      'http://0x7f000001/hook',
      'file:///etc/passwd',
      'gopher://127.0.0.1:6379/_INFO',
    ]) {
      const res = await production.http.post('/v1/webhook-endpoints', { url, events: ['recharge.succeeded'] }, { token: c.token });
      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors, url).toEqual([{ field: 'url', message: expect.any(String) }]);
    }
    expect((await production.http.get('/v1/webhook-endpoints', { token: c.token })).body.data).toEqual([]);
  });
});
