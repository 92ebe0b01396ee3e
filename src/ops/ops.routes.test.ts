import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFieldError, expectProblem } from '../../test/support/expect-problem.js';
import { DIALECT } from '../../test/support/test-database.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';
import { newId } from '../domain/ids.js';
import type { App } from '../http/app.js';

/** Every route the app registered, read from Fastify's own route tree (not a hand-kept list). */
function registeredRoutes(app: App): { path: string; methods: string[] }[] {
  const routes: { path: string; methods: string[] }[] = [];
  const segments: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    if (line.trim() === '') continue;
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([^)]*)\))?$/.exec(line);
    if (!match) throw new Error(`unexpected printRoutes line: ${JSON.stringify(line)}`);
    const depth = (match[1] ?? '').length / 4;
    segments.length = depth;
    segments.push(match[2] ?? '');
    if (match[3]) routes.push({ path: segments.join(''), methods: match[3].split(',').map((m) => m.trim()) });
  }
  return routes;
}

/** The routes the contract says the OpenAPI document must describe, as OpenAPI paths. */
function documentedRoutes(app: App): { path: string; method: string }[] {
  return registeredRoutes(app)
    .filter((r) => r.path.startsWith('/v1/') || ['/healthz', '/readyz', '/metrics'].includes(r.path))
    .flatMap((r) =>
      r.methods
        .filter((m) => m !== 'HEAD')
        .map((method) => ({ path: r.path.replace(/:([A-Za-z_]\w*)/g, '{$1}'), method: method.toLowerCase() })),
    );
}

function appOf(server: TestServer): App {
  const app = server.service.app;
  if (!app) throw new Error('the test server has no HTTP app');
  return app;
}

/** `topup_http_requests_total` samples by their labels. */
function requestCount(metrics: string, labels: { method: string; route: string; status: string }): number {
  for (const line of metrics.split('\n')) {
    const match = /^topup_http_requests_total\{([^}]*)\} (\d+(?:\.\d+)?)$/.exec(line);
    if (!match) continue;
    const found = Object.fromEntries([...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (found.method === labels.method && found.route === labels.route && found.status === labels.status) return Number(match[2]);
  }
  return 0;
}

describe('operations routes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('health, readiness, metrics', () => {
    it('GET /healthz answers 200 ok without a token', async () => {
      const res = await server.http.get('/healthz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok' });
    });

    it('GET /readyz answers 200 once the database answers, naming the dialect', async () => {
      const res = await server.http.get('/readyz');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ready', database: DIALECT });
    });

    it('GET /metrics is Prometheus text that counts requests by route and status', async () => {
      const before = await server.http.get('/metrics');
      expect(before.status).toBe(200);
      expect(before.headers.get('content-type')).toContain('text/plain');
      expect(before.text).toContain('# TYPE topup_http_requests_total counter');
      const baseline = requestCount(before.text, { method: 'GET', route: '/healthz', status: '200' });
      const customer = await server.customer();
      for (let i = 0; i < 3; i++) await server.http.get('/healthz');
      await server.http.get('/v1/balance', { token: customer.token });
      await server.http.get('/v1/balance');

      const after = await server.http.get('/metrics');
      expect(requestCount(after.text, { method: 'GET', route: '/healthz', status: '200' })).toBe(baseline + 3);
      expect(requestCount(after.text, { method: 'GET', route: '/v1/balance', status: '200' })).toBeGreaterThanOrEqual(1);
      expect(requestCount(after.text, { method: 'GET', route: '/v1/balance', status: '401' })).toBeGreaterThanOrEqual(1);
      expect(requestCount(after.text, { method: 'POST', route: '/v1/auth/register', status: '201' })).toBeGreaterThanOrEqual(1);
      expect(after.text).toMatch(/^topup_http_request_duration_seconds_bucket\{/m);
    });

    it('does not make a metric series per unknown path', async () => {
      const path = `/v1/probe-${Date.now()}`;
      expect((await server.http.get(path)).status).toBe(404);
      const metrics = await server.http.get('/metrics');
      expect(metrics.text).not.toContain(path);
    });
  });

  describe('OpenAPI and docs', () => {
    it('reads the route tree correctly (the check below is not vacuous)', () => {
      const routes = documentedRoutes(appOf(server));
      expect(routes).toEqual(
        expect.arrayContaining([
          { path: '/healthz', method: 'get' },
          { path: '/readyz', method: 'get' },
          { path: '/metrics', method: 'get' },
          { path: '/v1/auth/register', method: 'post' },
          { path: '/v1/auth/login', method: 'post' },
          { path: '/v1/me', method: 'get' },
          { path: '/v1/admin/staff', method: 'post' },
          { path: '/v1/balance', method: 'get' },
          { path: '/v1/balance/transactions', method: 'get' },
          { path: '/v1/purchases', method: 'post' },
          { path: '/v1/admin/adjustments', method: 'post' },
          { path: '/v1/admin/jobs', method: 'get' },
          { path: '/v1/admin/jobs/{id}/retry', method: 'post' },
          { path: '/v1/sandbox/clock', method: 'get' },
          { path: '/v1/sandbox/clock/advance', method: 'post' },
        ]),
      );
    });

    it('GET /openapi.json describes every /v1 operation and /healthz, /readyz, /metrics', async () => {
      const res = await server.http.get('/openapi.json');
      expect(res.status).toBe(200);
      expect(res.body.openapi).toMatch(/^3\./);
      const paths = res.body.paths as Record<string, Record<string, unknown>>;
      const missing = documentedRoutes(appOf(server))
        .filter((r) => !paths[r.path]?.[r.method])
        .map((r) => `${r.method.toUpperCase()} ${r.path}`);
      expect(missing).toEqual([]);
    });

    it('documents 401 on every operation that needs a token', async () => {
      const res = await server.http.get('/openapi.json');
      const paths = res.body.paths as Record<string, Record<string, { security?: unknown[]; responses?: Record<string, unknown> }>>;
      const authenticated = Object.entries(paths).flatMap(([path, operations]) =>
        Object.entries(operations)
          .filter(([, op]) => !(Array.isArray(op.security) && op.security.length === 0))
          .map(([method, op]) => ({ operation: `${method.toUpperCase()} ${path}`, responses: Object.keys(op.responses ?? {}) })),
      );
      expect(authenticated.map((a) => a.operation)).toEqual(expect.arrayContaining(['GET /v1/me', 'POST /v1/purchases']));
      expect(authenticated.filter((a) => !a.responses.includes('401')).map((a) => a.operation)).toEqual([]);
    });

    it('documents the Idempotency-Key header on operations marked (I)', async () => {
      const res = await server.http.get('/openapi.json');
      const paths = res.body.paths as Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>;
      for (const path of ['/v1/purchases', '/v1/admin/adjustments']) {
        const parameters = paths[path]?.post?.parameters ?? [];
        expect(
          parameters.some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key'),
          path,
        ).toBe(true);
      }
    });

    it('GET /docs answers the HTML documentation page', async () => {
      const res = await server.http.get('/docs');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.text.toLowerCase()).toContain('<html');
    });
  });

  describe('GET /v1/admin/jobs and POST /v1/admin/jobs/:id/retry', () => {
    const runs: Record<string, unknown>[] = [];
    beforeAll(() => {
      server.service.worker.register('test.retry_me', async (payload) => {
        runs.push(payload);
      });
    });

    async function insertJob(status: string, type = 'test.retry_me'): Promise<string> {
      const now = server.service.ctx.clock.now().toISOString();
      const id = newId('job');
      await server.service.ctx.store.db
        .insertInto('jobs')
        .values({
          id,
          type,
          payload: JSON.stringify({ job: id }),
          status,
          run_at: now,
          attempts: status === 'dead' ? 3 : 0,
          max_attempts: 3,
          last_error: status === 'dead' ? 'boom: the handler failed' : null,
          locked_by: null,
          locked_until: null,
          dedupe_key: null,
          repeat_seconds: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      return id;
    }

    async function jobStatus(id: string): Promise<string | undefined> {
      const row = await server.service.ctx.store.db.selectFrom('jobs').select('status').where('id', '=', id).executeTakeFirst();
      return row?.status;
    }

    it('lists jobs for an admin, dead ones visible with their last error', async () => {
      const id = await insertJob('dead');
      const admin = await server.adminToken();
      const res = await server.http.get('/v1/admin/jobs?status=dead', { token: admin });
      expect(res.status, res.text).toBe(200);
      const job = (res.body.data as { id: string }[]).find((j) => j.id === id);
      expect(job).toMatchObject({
        id,
        type: 'test.retry_me',
        status: 'dead',
        attempts: 3,
        max_attempts: 3,
        last_error: 'boom: the handler failed',
      });
      for (const j of res.body.data as { status: string }[]) expect(j.status).toBe('dead');
      const all = await server.http.get('/v1/admin/jobs?limit=100', { token: admin });
      expect((all.body.data as { status: string }[]).some((j) => j.status !== 'dead')).toBe(true);
    });

    it('pages with a cursor, newest first', async () => {
      for (let i = 0; i < 3; i++) await insertJob('dead', 'test.page');
      const admin = await server.adminToken();
      const expected = (
        await server.service.ctx.store.db.selectFrom('jobs').select('id').where('status', '=', 'dead').orderBy('id', 'desc').execute()
      ).map((r) => r.id);
      expect(expected.length).toBeGreaterThanOrEqual(3);
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 20; page++) {
        const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
        const res = await server.http.get(`/v1/admin/jobs?status=dead&limit=1${query}`, { token: admin });
        expect(res.status).toBe(200);
        expect(res.body.data).toHaveLength(1);
        seen.push(res.body.data[0].id as string);
        cursor = res.body.next_cursor as string | null;
        if (!cursor) break;
      }
      expect(seen).toEqual(expected);
    });

    it.each(['status=stuck', 'limit=0', 'limit=101', 'sort=asc'])('refuses ?%s with 400 VALIDATION_FAILED', async (query) => {
      const res = await server.http.get(`/v1/admin/jobs?${query}`, { token: await server.adminToken() });
      expectProblem(res, 400, 'VALIDATION_FAILED');
    });

    it('retries a dead job: 200 with a fresh budget, and the worker then runs it', async () => {
      const id = await insertJob('dead');
      const res = await server.http.post(`/v1/admin/jobs/${id}/retry`, {}, { token: await server.adminToken() });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ id, type: 'test.retry_me', status: 'pending', attempts: 0, max_attempts: 3 });
      const deadline = Date.now() + 10_000;
      while ((await jobStatus(id)) !== 'done' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await jobStatus(id)).toBe('done');
      expect(runs.filter((p) => p.job === id)).toHaveLength(1);
    });

    it('answers 409 INVALID_STATE for a job that is not dead, 404 NOT_FOUND for an unknown one', async () => {
      const admin = await server.adminToken();
      const pending = await insertJob('pending', 'test.never_due');
      await server.service.ctx.store.db.updateTable('jobs').set({ run_at: '2999-01-01T00:00:00.000Z' }).where('id', '=', pending).execute();
      expectProblem(await server.http.post(`/v1/admin/jobs/${pending}/retry`, {}, { token: admin }), 409, 'INVALID_STATE');
      expect(await jobStatus(pending)).toBe('pending');
      expectProblem(await server.http.post('/v1/admin/jobs/job_nope/retry', {}, { token: admin }), 404, 'NOT_FOUND');
    });

    it('answers 403 to staff below admin and to customers, 401 without a token, and retries nothing', async () => {
      const id = await insertJob('dead', 'test.forbidden');
      for (const role of ['cs_agent', 'cs_supervisor', 'finance'] as const) {
        const staff = await server.staff(role);
        expectProblem(await server.http.get('/v1/admin/jobs', { token: staff.token }), 403, 'FORBIDDEN');
        expectProblem(await server.http.post(`/v1/admin/jobs/${id}/retry`, {}, { token: staff.token }), 403, 'FORBIDDEN');
      }
      const customer = await server.customer();
      expectProblem(await server.http.get('/v1/admin/jobs', { token: customer.token }), 403, 'FORBIDDEN');
      expectProblem(await server.http.post(`/v1/admin/jobs/${id}/retry`, {}, { token: customer.token }), 403, 'FORBIDDEN');
      expectProblem(await server.http.get('/v1/admin/jobs'), 401, 'UNAUTHENTICATED');
      expectProblem(await server.http.post(`/v1/admin/jobs/${id}/retry`, {}), 401, 'UNAUTHENTICATED');
      expect(await jobStatus(id)).toBe('dead');
    });
  });
});

describe('sandbox clock', () => {
  let server: TestServer;
  beforeAll(async () => {
    // No background worker: only the advance itself may run what became due.
    server = await startTestServer({ worker: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('GET /v1/sandbox/clock reads the service clock for an admin', async () => {
    const res = await server.http.get('/v1/sandbox/clock', { token: await server.adminToken() });
    expect(res.status).toBe(200);
    expect(Number.isInteger(res.body.offset_seconds)).toBe(true);
    expect(res.body.offset_seconds).toBeGreaterThanOrEqual(0);
    expect(res.body.now).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    // The service clock is real time plus the offset.
    expect(Math.abs(new Date(res.body.now).getTime() - (Date.now() + res.body.offset_seconds * 1000))).toBeLessThan(5_000);
  });

  it('POST /v1/sandbox/clock/advance moves now forward and runs what became due before answering', async () => {
    const admin = await server.adminToken();
    const ran: string[] = [];
    server.service.worker.register('test.due_later', async (payload) => {
      ran.push(String(payload.tag));
    });
    const before = await server.http.get('/v1/sandbox/clock', { token: admin });
    const at = new Date(new Date(before.body.now).getTime() + 1800_000).toISOString();
    await server.service.ctx.store.db
      .insertInto('jobs')
      .values({
        id: newId('job'),
        type: 'test.due_later',
        payload: JSON.stringify({ tag: 'half-hour' }),
        status: 'pending',
        run_at: at,
        attempts: 0,
        max_attempts: 3,
        last_error: null,
        locked_by: null,
        locked_until: null,
        dedupe_key: null,
        repeat_seconds: null,
        created_at: before.body.now,
        updated_at: before.body.now,
      })
      .execute();

    const res = await server.http.post('/v1/sandbox/clock/advance', { seconds: 3600 }, { token: admin });
    expect(res.status, res.text).toBe(200);
    expect(res.body.offset_seconds).toBe(before.body.offset_seconds + 3600);
    const moved = new Date(res.body.now).getTime() - new Date(before.body.now).getTime();
    expect(moved).toBeGreaterThanOrEqual(3600_000);
    expect(moved).toBeLessThan(3600_000 + 10_000);
    expect(res.body.jobs_run).toBeGreaterThanOrEqual(1);
    expect(ran).toEqual(['half-hour']);

    const after = await server.http.get('/v1/sandbox/clock', { token: admin });
    expect(after.body.offset_seconds).toBe(before.body.offset_seconds + 3600);
    expect(new Date(after.body.now).getTime()).toBeGreaterThanOrEqual(new Date(res.body.now).getTime());
  });

  it.each([
    ['zero seconds', { seconds: 0 }, 'seconds'],
    ['negative seconds', { seconds: -60 }, 'seconds'],
    ['seconds as a string', { seconds: '60' }, 'seconds'],
    ['an unknown field', { seconds: 60, minutes: 1 }, 'minutes'],
  ])('refuses %s with VALIDATION_FAILED and leaves the clock alone', async (_case, body, field) => {
    const admin = await server.adminToken();
    const before = await server.http.get('/v1/sandbox/clock', { token: admin });
    expectFieldError(await server.http.post('/v1/sandbox/clock/advance', body, { token: admin }), field);
    const after = await server.http.get('/v1/sandbox/clock', { token: admin });
    expect(after.body.offset_seconds).toBe(before.body.offset_seconds);
  });

  it('answers 403 to non-admin staff and customers, 401 without a token, and does not move', async () => {
    const admin = await server.adminToken();
    const before = await server.http.get('/v1/sandbox/clock', { token: admin });
    const callers = [await server.staff('finance'), await server.staff('cs_supervisor'), await server.customer()];
    for (const caller of callers) {
      expectProblem(await server.http.get('/v1/sandbox/clock', { token: caller.token }), 403, 'FORBIDDEN');
      expectProblem(await server.http.post('/v1/sandbox/clock/advance', { seconds: 60 }, { token: caller.token }), 403, 'FORBIDDEN');
    }
    expectProblem(await server.http.get('/v1/sandbox/clock'), 401, 'UNAUTHENTICATED');
    expectProblem(await server.http.post('/v1/sandbox/clock/advance', { seconds: 60 }), 401, 'UNAUTHENTICATED');
    const after = await server.http.get('/v1/sandbox/clock', { token: admin });
    expect(after.body.offset_seconds).toBe(before.body.offset_seconds);
  });
});

describe('with TOPUP_SANDBOX=0', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { TOPUP_SANDBOX: '0' }, worker: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers 404 NOT_FOUND to the sandbox clock, even for an admin', async () => {
    const admin = await server.adminToken();
    expectProblem(await server.http.get('/v1/sandbox/clock', { token: admin }), 404, 'NOT_FOUND');
    expectProblem(await server.http.post('/v1/sandbox/clock/advance', { seconds: 60 }, { token: admin }), 404, 'NOT_FOUND');
    expect((await server.http.get('/healthz')).status).toBe(200);
  });

  it('still documents every registered operation, and no sandbox ones', async () => {
    const res = await server.http.get('/openapi.json');
    const paths = res.body.paths as Record<string, Record<string, unknown>>;
    const routes = documentedRoutes(appOf(server));
    expect(routes.length).toBeGreaterThan(5);
    expect(routes.filter((r) => !paths[r.path]?.[r.method])).toEqual([]);
    expect(Object.keys(paths).filter((p) => p.startsWith('/v1/sandbox'))).toEqual([]);
  });
});
