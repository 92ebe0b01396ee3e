import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/database.js';
import { recharge } from '../support/recharge-helpers.js';
import { DIALECT } from '../support/test-database.js';
import { type TestServer, startTestServer } from '../support/test-server.js';
import { type RawRequest, type RawResponse, sendRaw } from './raw-http.js';
import { type Schema, hostileText, invalidBody, invalidQueryValue, sampleValid } from './schema-arbitraries.js';

/**
 * Every operation of the served OpenAPI document, fed generated malformed and boundary input
 * (fast-check): wrong types, huge / negative / zero / fractional numbers, hostile unicode,
 * unknown and missing fields, broken JSON, bad path ids and query values, missing, oversized and
 * duplicated headers, bodies over 1 MB. Each answer must be a 4xx problem document — never a
 * 5xx — and nothing may change: row counts of every table and the ledger's sums are compared
 * before and after. `FUZZ_RUNS` (per operation and kind) and `FUZZ_SEED` replay or widen a run.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const SEED = Number(process.env.FUZZ_SEED ?? 20_240_707);

interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: Schema;
}

interface Operation {
  method: string;
  /** OpenAPI spelling: `/v1/refunds/{id}`. */
  path: string;
  isPublic: boolean;
  parameters: Parameter[];
  body: Schema | null;
  idempotent: boolean;
}

function operations(doc: Record<string, unknown>): Operation[] {
  const out: Operation[] = [];
  const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      const parameters = (op.parameters ?? []) as Parameter[];
      const content = (op.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)?.content;
      out.push({
        method: method.toUpperCase(),
        path,
        isPublic: Array.isArray(op.security) && op.security.length === 0,
        parameters,
        body: content?.['application/json']?.schema ?? null,
        idempotent: parameters.some((p) => p.in === 'header' && p.name === 'idempotency-key'),
      });
    }
  }
  return out;
}

/** A snapshot of everything the service keeps: row counts of every table, the ledger's sums. */
async function snapshot(db: Db): Promise<Record<string, number>> {
  const tables =
    DIALECT === 'postgres'
      ? await sql<{
          name: string;
        }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(
          db,
        )
      : await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db);
  const out: Record<string, number> = {};
  for (const { name } of tables.rows) {
    // Refused requests can leave a stored idempotent answer (a 4xx replays as it was): not state.
    if (name === 'idempotency_keys' || name.startsWith('kysely_')) continue;
    const row = await sql<{ n: number }>`select count(*) as n from ${sql.table(name)}`.execute(db);
    out[name] = Number(row.rows[0]?.n ?? 0);
  }
  const ledger = await sql<{
    total: number;
    moved: number;
  }>`select coalesce(sum(amount), 0) as total, coalesce(sum(abs(amount)), 0) as moved from ledger_postings`.execute(db);
  out['ledger: sum of postings'] = Number(ledger.rows[0]?.total ?? 0);
  out['ledger: money moved'] = Number(ledger.rows[0]?.moved ?? 0);
  const balances = await sql<{ total: number }>`select coalesce(sum(balance), 0) as total from ledger_accounts`.execute(db);
  out['ledger: stored balances'] = Number(balances.rows[0]?.total ?? 0);
  return out;
}

function expectClientProblem(res: RawResponse, label: string): void {
  expect(res.status >= 400 && res.status < 500, `${label} → ${res.status} ${res.text.slice(0, 300)}`).toBe(true);
  expect(res.contentType, `${label}: ${res.text.slice(0, 200)}`).toContain('application/problem+json');
  expect(typeof res.json?.code, `${label}: ${res.text.slice(0, 200)}`).toBe('string');
  expect(typeof res.json?.message, label).toBe('string');
  expect(res.json?.status, label).toBe(res.status);
}

/** Percent-encoding that also sends what encodeURIComponent refuses (lone surrogates: their raw UTF-8 bytes, invalid). */
function pct(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return [...text]
      .map((ch) => {
        const code = ch.codePointAt(0) ?? 0;
        if (code >= 0xd800 && code <= 0xdfff)
          return `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase();
        return encodeURIComponent(ch);
      })
      .join('');
  }
}

const badIds = fc.oneof(
  hostileText.filter((s) => s.length > 0),
  fc.string({ minLength: 65, maxLength: 300 }),
  fc.constantFrom('0', '-1', '1e309', 'null', 'undefined', '%00', '..', '%2e%2e%2f%2e%2e', 'rch_', 'usr_00000000000000000000000000'),
);

describe(`OpenAPI fuzzing: malformed input is a 4xx problem and changes nothing (${DIALECT})`, () => {
  let server: TestServer;
  let ops: Operation[] = [];
  let before: Record<string, number>;
  const tokens = { customer: '', admin: '' };
  let rechargeId = '';

  beforeAll(async () => {
    server = await startTestServer({ worker: false, env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000' } });
    const doc = await server.http.get('/openapi.json');
    expect(doc.status).toBe(200);
    ops = operations(doc.body);
    // Something to lose: a customer with a balance, a recharge and an open refund application.
    const customer = await server.customer();
    tokens.customer = customer.token;
    tokens.admin = await server.adminToken();
    const order = await recharge(server.http, customer.token, 20_000, 'alipay');
    rechargeId = order.body.id as string;
    await server.http.post(
      '/v1/refunds',
      { recharge_id: rechargeId, amount: 1_000, reason: 'unused_balance' },
      { token: customer.token, key: true },
    );
    before = await snapshot(server.service.ctx.store.db);
  });

  afterAll(async () => {
    await server?.close();
  });

  function headersFor(op: Operation, extra: Record<string, string | string[]> = {}): Record<string, string | string[]> {
    const headers: Record<string, string | string[]> = { 'content-type': 'application/json' };
    if (!op.isPublic) {
      const staff = op.path.startsWith('/v1/admin/') || op.path.startsWith('/v1/sandbox/');
      headers.authorization = `Bearer ${staff ? tokens.admin : tokens.customer}`;
    }
    if (op.idempotent) headers['idempotency-key'] = `fuzz-${Math.random().toString(36).slice(2)}`;
    return { ...headers, ...extra };
  }

  function urlFor(op: Operation, params: Record<string, string> = {}, query = ''): string {
    const path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) =>
      pct(params[name] ?? (name === 'provider' ? 'sandbox_alipay' : 'zz_not_an_id')),
    );
    return `${path}${query}`;
  }

  async function send(request: RawRequest): Promise<RawResponse> {
    return sendRaw(server.url, request);
  }

  it('reads an OpenAPI document with every /v1 operation', () => {
    expect(ops.length).toBeGreaterThan(50);
    expect(ops.filter((o) => o.body).length).toBeGreaterThan(15);
  });

  it('malformed bodies: wrong types, out-of-range numbers, hostile strings, unknown/missing fields, broken JSON', async () => {
    for (const op of ops.filter((o) => o.body)) {
      const schema = op.body as Schema;
      await fc.assert(
        fc.asyncProperty(invalidBody(schema), async (body) => {
          const res = await send({ method: op.method, path: urlFor(op), headers: headersFor(op), body });
          expectClientProblem(res, `${op.method} ${op.path} body ${body.slice(0, 200)}`);
        }),
        { numRuns: RUNS * 2, seed: SEED },
      );
    }
  });

  it('bad path ids and query values', async () => {
    for (const op of ops) {
      const pathParams = op.parameters.filter((p) => p.in === 'path');
      const queryParams = op.parameters.filter((p) => p.in === 'query');
      const body = op.body ? JSON.stringify(sampleValid(op.body)) : undefined;
      if (pathParams.length > 0) {
        await fc.assert(
          fc.asyncProperty(badIds, fc.constantFrom(...pathParams), async (id, param) => {
            const res = await send({ method: op.method, path: urlFor(op, { [param.name]: id }), headers: headersFor(op), body });
            expectClientProblem(res, `${op.method} ${op.path} ${param.name}=${JSON.stringify(id)}`);
          }),
          { numRuns: RUNS, seed: SEED },
        );
      }
      const breakable = queryParams.map((p) => ({ p, bad: invalidQueryValue(p.schema) })).filter((q) => q.bad !== null);
      for (const { p, bad } of breakable) {
        if (!bad) continue;
        await fc.assert(
          fc.asyncProperty(bad, async (value) => {
            const query = `?${pct(p.name)}=${pct(value)}`;
            const res = await send({ method: op.method, path: urlFor(op, {}, query), headers: headersFor(op), body });
            expectClientProblem(res, `${op.method} ${op.path}${query}`);
          }),
          { numRuns: Math.max(3, Math.ceil(RUNS / 2)), seed: SEED },
        );
      }
    }
    // The pagination cap, spelled out.
    for (const path of ['/v1/recharges', '/v1/refunds', '/v1/balance/transactions', '/v1/notifications']) {
      for (const limit of ['101', '0', '-1', '1e3', '99999999999999999999', '10.5', 'ten']) {
        const res = await send({ method: 'GET', path: `${path}?limit=${limit}`, headers: { authorization: `Bearer ${tokens.customer}` } });
        expectClientProblem(res, `GET ${path}?limit=${limit}`);
      }
    }
  });

  it('headers: missing, oversized or duplicated Idempotency-Key, wrong content type, forged tokens', async () => {
    for (const op of ops) {
      const body = op.body ? JSON.stringify(sampleValid(op.body)) : undefined;
      const label = `${op.method} ${op.path}`;
      if (op.idempotent) {
        const headers = headersFor(op);
        delete headers['idempotency-key'];
        const missing = await send({ method: op.method, path: urlFor(op), headers, body });
        expectClientProblem(missing, `${label} without Idempotency-Key`);
        expect(missing.json?.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
        const long = await send({ method: op.method, path: urlFor(op), headers: { ...headers, 'idempotency-key': 'k'.repeat(256) }, body });
        expectClientProblem(long, `${label} with a 256-character Idempotency-Key`);
        const twice = await send({
          method: op.method,
          path: urlFor(op),
          headers: { ...headers, 'idempotency-key': ['fuzz-a', 'fuzz-b'] },
          body,
        });
        expectClientProblem(twice, `${label} with two Idempotency-Key headers`);
      }
      if (body !== undefined) {
        const res = await send({ method: op.method, path: urlFor(op), headers: headersFor(op, { 'content-type': 'text/plain' }), body });
        expectClientProblem(res, `${label} as text/plain`);
        const xml = await send({
          method: op.method,
          path: urlFor(op),
          headers: headersFor(op, { 'content-type': 'application/xml' }),
          body: '<a/>',
        });
        expectClientProblem(xml, `${label} as XML`);
      }
      if (!op.isPublic) {
        for (const authorization of [
          'Bearer',
          'Bearer ',
          'Basic YWRtaW46YWRtaW4=',
          `Bearer ${tokens.customer}\u00ff`,
          `bearer ${'x'.repeat(5000)}`,
        ]) {
          const res = await send({ method: op.method, path: urlFor(op), headers: headersFor(op, { authorization }), body });
          expectClientProblem(res, `${label} with Authorization ${JSON.stringify(authorization.slice(0, 40))}`);
          expect(res.status, label).toBe(401);
        }
      }
    }
  });

  it('bodies over 1 MB are refused with 413 before anything runs', async () => {
    const huge = JSON.stringify({ description: 'x'.repeat(1024 * 1024 + 10) });
    for (const op of ops.filter((o) => o.method !== 'GET' && o.method !== 'DELETE')) {
      const res = await send({ method: op.method, path: urlFor(op), headers: headersFor(op), body: huge });
      if (op.path === '/v1/evidence') {
        // Multipart only: a JSON body of any size is refused for its type.
        expectClientProblem(res, `${op.method} ${op.path} 1 MB JSON`);
        continue;
      }
      expectClientProblem(res, `${op.method} ${op.path} 1 MB`);
      expect(res.status, `${op.method} ${op.path}`).toBe(413);
    }
  });

  it('nothing changed: every table has the rows it had, the ledger the sums', async () => {
    expect(await snapshot(server.service.ctx.store.db)).toEqual(before);
    await server.verify();
  });
});

/**
 * Valid requests whose free text is hostile (NUL, lone surrogates, bidi overrides, emoji,
 * markup): they may be accepted or refused, never a 5xx — a database that cannot store a
 * character must not turn into "system busy".
 */
describe(`OpenAPI fuzzing: hostile text in valid requests never breaks the service (${DIALECT})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ worker: false, env: { TOPUP_RECHARGE_RATE_PER_MIN: '100000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('free-text fields take any unicode or refuse it with a 4xx', async () => {
    const customer = await server.customer();
    const admin = await server.adminToken();
    const order = await recharge(server.http, customer.token, 50_000, 'alipay');
    expect(order.body.status).toBe('succeeded');
    const auth = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
    const cases: ((text: string, n: number) => RawRequest)[] = [
      (text, n) => ({
        method: 'POST',
        path: '/v1/auth/register',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `u${n}-${Date.now()}@example.com`, password: 'long-enough-1', name: text }),
      }),
      (text) => ({
        method: 'POST',
        path: '/v1/auth/login',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: text, password: text }),
      }),
      (text, n) => ({
        method: 'POST',
        path: '/v1/purchases',
        headers: { ...auth(customer.token), 'idempotency-key': `p-${n}-${Date.now()}` },
        body: JSON.stringify({ amount: 1, description: text }),
      }),
      (text, n) => ({
        method: 'POST',
        path: '/v1/refunds',
        headers: { ...auth(customer.token), 'idempotency-key': `r-${n}-${Date.now()}` },
        body: JSON.stringify({ recharge_id: order.body.id, amount: 1, reason: 'other', description: text }),
      }),
      (text, n) => ({
        method: 'POST',
        path: '/v1/recharges',
        headers: { ...auth(customer.token), 'idempotency-key': `c-${n}-${Date.now()}` },
        body: JSON.stringify({
          amount: 100,
          currency: 'CNY',
          method: 'credit_card',
          payment_method: { card_number: '4111111111111111', expiry: '12/39', verification_code: '123', holder_name: text },
        }),
      }),
      (text, n) => ({
        method: 'POST',
        path: '/v1/recharges',
        headers: { ...auth(customer.token), 'idempotency-key': `w-${n}-${Date.now()}` },
        body: JSON.stringify({ amount: 100, currency: 'CNY', method: 'alipay', payment_method: { payer_account: text } }),
      }),
      (text) => ({
        method: 'POST',
        path: '/v1/webhook-endpoints',
        headers: auth(customer.token),
        body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['refund.succeeded'], description: text }),
      }),
      (text, n) => ({
        method: 'POST',
        path: '/v1/admin/compensations',
        headers: { ...auth(admin), 'idempotency-key': `k-${n}-${Date.now()}` },
        body: JSON.stringify({ user_id: customer.id, amount: 1, reason: text }),
      }),
      (text, n) => ({
        method: 'POST',
        path: '/v1/admin/adjustments',
        headers: { ...auth(admin), 'idempotency-key': `a-${n}-${Date.now()}` },
        body: JSON.stringify({ user_id: customer.id, amount: 1, reason: text }),
      }),
      (text) => ({ method: 'GET', path: `/v1/admin/audit?actor=${pct(text)}&action=${pct(text)}`, headers: auth(admin) }),
      (text) => ({ method: 'GET', path: `/v1/refunds?cursor=${pct(text)}`, headers: auth(customer.token) }),
      (text) => ({ method: 'GET', path: `/v1/admin/refunds?assignee_id=${pct(text)}`, headers: auth(admin) }),
    ];
    let n = 0;
    await fc.assert(
      fc.asyncProperty(hostileText, fc.nat(cases.length - 1), async (text, which) => {
        const make = cases[which];
        if (!make) return;
        n += 1;
        const request = make(text, n);
        const res = await send(server.url, request);
        const label = `${request.method} ${request.path.split('?')[0]} with ${JSON.stringify(text)}`;
        expect(res.status, `${label} → ${res.status} ${res.text.slice(0, 300)}`).toBeLessThan(500);
        if (res.status >= 400) expectClientProblem(res, label);
      }),
      { numRuns: RUNS * 12, seed: SEED },
    );
    await server.verify();
  });
});

function send(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  return sendRaw(baseUrl, request);
}
