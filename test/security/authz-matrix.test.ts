import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/identity/roles.js';
import { tinyPng, uploadEvidence } from '../support/evidence-helpers.js';
import { expectProblem } from '../support/expect-problem.js';
import type { CallResult } from '../support/http-client.js';
import { eventually, recharge } from '../support/recharge-helpers.js';
import { DIALECT } from '../support/test-database.js';
import { type TestServer, startTestServer } from '../support/test-server.js';
import { appOf, registeredRoutes } from './route-table.js';

/**
 * The authorization matrix (OWASP API1 broken object level, API5 broken function level
 * authorization), generated from the app's route table. Every route must be classified below:
 * a route that is not fails the suite, so nobody adds an endpoint without deciding who may
 * call it. For every classified route:
 *   - without a token, and with a token that is not valid → 401 (unless public);
 *   - with the token of every role the route does not admit → 403;
 *   - a customer's object (path id) read or touched with another customer's token → 404, and
 *     nothing about it changes.
 */

type Fixture = 'recharge' | 'refund' | 'evidence' | 'notification' | 'webhook';

interface Rule {
  /** `public`, `any` signed-in user, or exactly the roles that may call (implications spelt out). */
  allowed: 'public' | 'any' | readonly Role[];
  /** The `:id` is a customer's own object of this kind. */
  owned?: Fixture;
}

const ALL_STAFF: readonly Role[] = ['cs_agent', 'cs_supervisor', 'finance', 'admin'];
// The design's role ladder: admin does what any staff role does, a supervisor what an agent does.
const AGENT: readonly Role[] = ['cs_agent', 'cs_supervisor', 'admin'];
const SUPERVISOR_OR_FINANCE: readonly Role[] = ['cs_supervisor', 'finance', 'admin'];
const FINANCE: readonly Role[] = ['finance', 'admin'];
const ADMIN: readonly Role[] = ['admin'];
const CUSTOMER: readonly Role[] = ['customer'];
const EVERYONE_SIGNED_IN: readonly Role[] = ['customer', ...ALL_STAFF];

const PUBLIC: Rule = { allowed: 'public' };

/** Every route of the app, by `METHOD path` (HEAD follows its GET). */
const MATRIX: Record<string, Rule> = {
  'GET /v1/status': PUBLIC,
  // Signed by the channel, not by a session: the signature check answers 401 (signatures suite).
  'POST /v1/channels/:provider/notify': PUBLIC,
  // Identity.
  'POST /v1/auth/register': PUBLIC,
  'POST /v1/auth/login': PUBLIC,
  'GET /v1/me': { allowed: 'any' },
  'POST /v1/admin/staff': { allowed: ADMIN },
  // Balance and spending.
  'GET /v1/balance': { allowed: CUSTOMER },
  'GET /v1/balance/transactions': { allowed: CUSTOMER },
  'GET /v1/balance/reminder': { allowed: CUSTOMER },
  'PUT /v1/balance/reminder': { allowed: CUSTOMER },
  'GET /v1/balance/auto-recharge': { allowed: CUSTOMER },
  'PUT /v1/balance/auto-recharge': { allowed: CUSTOMER },
  'POST /v1/purchases': { allowed: CUSTOMER },
  'POST /v1/admin/adjustments': { allowed: FINANCE },
  // Recharges.
  'POST /v1/recharges': { allowed: CUSTOMER },
  'GET /v1/recharges': { allowed: CUSTOMER },
  'GET /v1/recharges/:id': { allowed: CUSTOMER, owned: 'recharge' },
  // Refunds and evidence.
  'POST /v1/refunds': { allowed: CUSTOMER },
  'GET /v1/refunds': { allowed: CUSTOMER },
  'GET /v1/refunds/:id': { allowed: CUSTOMER, owned: 'refund' },
  'POST /v1/refunds/:id/replies': { allowed: CUSTOMER, owned: 'refund' },
  'POST /v1/refunds/:id/cancel': { allowed: CUSTOMER, owned: 'refund' },
  'POST /v1/evidence': { allowed: CUSTOMER },
  'GET /v1/evidence/:id': { allowed: EVERYONE_SIGNED_IN, owned: 'evidence' },
  'GET /v1/evidence/:id/content': { allowed: EVERYONE_SIGNED_IN, owned: 'evidence' },
  // Refund review and compensation (cs_agent+; finance reads).
  'GET /v1/admin/refunds': { allowed: ALL_STAFF },
  'GET /v1/admin/refunds/:id': { allowed: ALL_STAFF },
  'POST /v1/admin/refunds/:id/claim': { allowed: AGENT },
  'POST /v1/admin/refunds/:id/request-info': { allowed: AGENT },
  'POST /v1/admin/refunds/:id/reject': { allowed: AGENT },
  'POST /v1/admin/refunds/:id/approve': { allowed: AGENT },
  'POST /v1/admin/refunds/:id/escalate': { allowed: AGENT },
  'POST /v1/admin/compensations': { allowed: AGENT },
  // Staff views.
  'GET /v1/admin/customers/:id': { allowed: ALL_STAFF },
  'GET /v1/admin/dashboard': { allowed: ALL_STAFF },
  'GET /v1/admin/audit': { allowed: SUPERVISOR_OR_FINANCE },
  'GET /v1/admin/outbox': { allowed: AGENT },
  // Channels and operations.
  'GET /v1/admin/providers': { allowed: ALL_STAFF },
  'POST /v1/admin/providers/:provider/maintenance': { allowed: ADMIN },
  'DELETE /v1/admin/providers/:provider/maintenance': { allowed: ADMIN },
  'GET /v1/admin/providers/:provider/statement': { allowed: FINANCE },
  'GET /v1/admin/jobs': { allowed: ADMIN },
  'POST /v1/admin/jobs/:id/retry': { allowed: ADMIN },
  'GET /v1/sandbox/clock': { allowed: ADMIN },
  'POST /v1/sandbox/clock/advance': { allowed: ADMIN },
  // Notifications and webhooks.
  'GET /v1/notifications': { allowed: CUSTOMER },
  'POST /v1/notifications/read-all': { allowed: CUSTOMER },
  'POST /v1/notifications/:id/read': { allowed: CUSTOMER, owned: 'notification' },
  'GET /v1/notification-preferences': { allowed: CUSTOMER },
  'PUT /v1/notification-preferences': { allowed: CUSTOMER },
  'POST /v1/webhook-endpoints': { allowed: CUSTOMER },
  'GET /v1/webhook-endpoints': { allowed: CUSTOMER },
  'GET /v1/webhook-endpoints/:id': { allowed: CUSTOMER, owned: 'webhook' },
  'DELETE /v1/webhook-endpoints/:id': { allowed: CUSTOMER, owned: 'webhook' },
  'POST /v1/webhook-endpoints/:id/rotate-secret': { allowed: CUSTOMER, owned: 'webhook' },
  'POST /v1/webhook-endpoints/:id/enable': { allowed: CUSTOMER, owned: 'webhook' },
  'GET /v1/webhook-endpoints/:id/deliveries': { allowed: CUSTOMER, owned: 'webhook' },
};

/**
 * Outside /v1 only GETs of public things exist: health, readiness, metrics, the OpenAPI document
 * and its viewer, the web console's static files (their names change with every build).
 */
function classify(method: string, path: string): Rule | undefined {
  const rule = MATRIX[`${method} ${path}`];
  if (rule) return rule;
  if (method === 'GET' && !path.startsWith('/v1/')) return PUBLIC;
  return undefined;
}

const ROLES: readonly Role[] = ['customer', 'cs_agent', 'cs_supervisor', 'finance', 'admin'];

/** A concrete URL for a route pattern: ids that exist nowhere (the guard must answer before any lookup). */
function concrete(path: string, ids: Partial<Record<string, string>> = {}): string {
  return path
    .replace(':provider', ids.provider ?? 'sandbox_alipay')
    .replace(':id', ids.id ?? 'zz_does_not_exist')
    .replace('/*', '/console-page');
}

describe(`authorization matrix from the route table (${DIALECT})`, () => {
  let server: TestServer;
  const tokens: Partial<Record<Role, string>> = {};
  let owner: { id: string; token: string };
  let intruder: { id: string; token: string };
  const objects: Partial<Record<Fixture, string>> = {};
  let routes: { path: string; method: string }[] = [];

  async function call(method: string, path: string, token: string | null, body?: unknown): Promise<CallResult> {
    const withBody = method === 'POST' || method === 'PUT';
    return server.http.call(method, path, withBody ? (body ?? {}) : undefined, {
      token,
      key: withBody ? true : undefined,
    });
  }

  beforeAll(async () => {
    server = await startTestServer({ env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000' } });
    routes = registeredRoutes(appOf(server.service)).filter((r) => r.method !== 'HEAD');
    owner = await server.customer();
    intruder = await server.customer();
    // The role sweep below calls every customer route (read-all included) with its own customer.
    tokens.customer = (await server.customer()).token;
    tokens.admin = await server.adminToken();
    for (const role of ['cs_agent', 'cs_supervisor', 'finance'] as const) tokens[role] = (await server.staff(role)).token;

    // The owner's objects, one of each kind a path id can name.
    const order = await recharge(server.http, owner.token, 10_000, 'alipay');
    expect(order.body.status).toBe('succeeded');
    objects.recharge = order.body.id as string;
    const applied = await server.http.post(
      '/v1/refunds',
      { recharge_id: objects.recharge, amount: 100, reason: 'unused_balance' },
      { token: owner.token, key: true },
    );
    expect(applied.status, applied.text).toBe(201);
    objects.refund = applied.body.id as string;
    const evidence = await uploadEvidence(server.url, owner.token, tinyPng());
    expect(evidence.status).toBe(201);
    objects.evidence = evidence.body.id as string;
    const hook = await server.http.post(
      '/v1/webhook-endpoints',
      { url: 'http://127.0.0.1:9/hook', events: ['recharge.succeeded'] },
      { token: owner.token },
    );
    expect(hook.status, hook.text).toBe(201);
    objects.webhook = hook.body.id as string;
    const inbox = await eventually(
      () => server.http.get('/v1/notifications', { token: owner.token }),
      (res) => Array.isArray(res.body.data) && res.body.data.length > 0,
    );
    objects.notification = inbox.body.data[0].id as string;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('every route of the app is classified, and every classified route exists', () => {
    const present = new Set(routes.map((r) => `${r.method} ${r.path}`));
    expect(present.size).toBeGreaterThan(50);
    const unclassified = routes.filter((r) => !classify(r.method, r.path)).map((r) => `${r.method} ${r.path}`);
    expect(unclassified, 'routes missing from the authorization matrix (add them to MATRIX)').toEqual([]);
    const stale = Object.keys(MATRIX).filter((r) => !present.has(r));
    expect(stale, 'MATRIX names routes the app does not have').toEqual([]);
  });

  it('without a token, or with a forged or unknown one, every non-public route answers 401', async () => {
    for (const { method, path } of routes) {
      const rule = classify(method, path);
      if (!rule || rule.allowed === 'public') continue;
      for (const token of [null, 'not-a-real-token', `${owner.token}x`]) {
        const res = await call(method, concrete(path), token);
        expect(res.status, `${method} ${path} token=${token}: ${res.text}`).toBe(401);
        expectProblem(res, 401, 'UNAUTHENTICATED');
      }
      const head = method === 'GET' ? await server.http.call('HEAD', concrete(path)) : null;
      if (head) expect(head.status, `HEAD ${path}`).toBe(401);
    }
  });

  it('every role a route does not admit answers 403; every role it admits gets past the guard', async () => {
    for (const { method, path } of routes) {
      const rule = classify(method, path);
      if (!rule || rule.allowed === 'public' || rule.allowed === 'any') continue;
      for (const role of ROLES) {
        const token = tokens[role] ?? null;
        // Admitted roles go with a nonexistent id and an empty body: any answer but 401/403.
        // (Mutations never reach an effect: the id exists nowhere or the body is invalid.)
        const res = await call(method, concrete(path), token);
        const label = `${method} ${path} as ${role}: ${res.status} ${res.text.slice(0, 200)}`;
        if (rule.allowed.includes(role)) {
          expect([401, 403], label).not.toContain(res.status);
        } else {
          expect(res.status, label).toBe(403);
          expectProblem(res, 403, 'FORBIDDEN');
        }
      }
    }
  });

  it("another customer's object, by its path id, is 404 — and stays as it was", async () => {
    const before = {
      refund: (await server.http.get(`/v1/refunds/${objects.refund}`, { token: owner.token })).body,
      webhook: (await server.http.get(`/v1/webhook-endpoints/${objects.webhook}`, { token: owner.token })).body,
    };
    const bodies: Record<string, unknown> = {
      'POST /v1/refunds/:id/replies': { message: 'not mine' },
    };
    let checked = 0;
    for (const { method, path } of routes) {
      const key = `${method} ${path}`;
      const rule = classify(method, path);
      if (!rule?.owned) continue;
      const url = concrete(path, { id: objects[rule.owned] });
      const res = await call(method, url, intruder.token, bodies[key]);
      expect(res.status, `${key} by another customer: ${res.text}`).toBe(404);
      expectProblem(res, 404, 'NOT_FOUND');
      expect(res.text).not.toContain(owner.id);
      if (method === 'GET') {
        const own = await call(method, url, owner.token);
        expect(own.status, `${key} by its owner: ${own.text.slice(0, 200)}`).toBe(200);
      }
      checked += 1;
    }
    expect(checked).toBe(Object.values(MATRIX).filter((r) => r.owned).length);

    const after = {
      refund: (await server.http.get(`/v1/refunds/${objects.refund}`, { token: owner.token })).body,
      webhook: (await server.http.get(`/v1/webhook-endpoints/${objects.webhook}`, { token: owner.token })).body,
    };
    expect(after.refund.status).toBe(before.refund.status);
    expect(after.refund.timeline).toEqual(before.refund.timeline);
    expect(after.webhook).toEqual(before.webhook);
    const inbox = await server.http.get('/v1/notifications', { token: owner.token });
    const note = inbox.body.data.find((n: { id: string }) => n.id === objects.notification);
    expect(note?.read_at ?? null).toBeNull();
  });

  it("another customer's object named inside a request body is 404 too", async () => {
    const mine = await recharge(server.http, intruder.token, 5_000, 'alipay');
    expect(mine.body.status).toBe('succeeded');
    const cases: { what: string; res: CallResult }[] = [
      {
        what: 'refund of their recharge',
        res: await server.http.post(
          '/v1/refunds',
          { recharge_id: objects.recharge, amount: 100, reason: 'unused_balance' },
          { token: intruder.token, key: true },
        ),
      },
      {
        what: 'their evidence on my refund application',
        res: await server.http.post(
          '/v1/refunds',
          { recharge_id: mine.body.id, amount: 100, reason: 'other', description: 'x', evidence_ids: [objects.evidence] },
          { token: intruder.token, key: true },
        ),
      },
      {
        what: 'auto-recharge from their recharge',
        res: await server.http.put(
          '/v1/balance/auto-recharge',
          { enabled: true, threshold: 1_000, amount: 10_000, from_recharge_id: objects.recharge },
          { token: intruder.token },
        ),
      },
    ];
    for (const { what, res } of cases) {
      expect(res.status, `${what}: ${res.text}`).toBe(404);
      expectProblem(res, 404, 'NOT_FOUND');
    }
    // Replying with their evidence, on my own application that asks for information.
    const applied = await server.http.post(
      '/v1/refunds',
      { recharge_id: mine.body.id, amount: 100, reason: 'unused_balance' },
      { token: intruder.token, key: true },
    );
    expect(applied.status, applied.text).toBe(201);
    const agent = tokens.cs_agent ?? '';
    await server.http.post(`/v1/admin/refunds/${applied.body.id}/claim`, {}, { token: agent });
    const asked = await server.http.post(`/v1/admin/refunds/${applied.body.id}/request-info`, { message: '截图?' }, { token: agent });
    expect(asked.body.status).toBe('info_requested');
    const reply = await server.http.post(
      `/v1/refunds/${applied.body.id}/replies`,
      { message: 'here', evidence_ids: [objects.evidence] },
      { token: intruder.token },
    );
    expect(reply.status, reply.text).toBe(404);
    expectProblem(reply, 404, 'NOT_FOUND');
    await server.verify();
  });
});
