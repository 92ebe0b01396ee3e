import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpClient, httpClient } from '../support/http-client.js';
import { type ServerProcess, spawnTopup } from '../support/processes.js';
import { card } from '../support/recharge-helpers.js';
import { createTestDatabase, DIALECT, type TestDatabase } from '../support/test-database.js';
import { sendRaw } from '../fuzz/raw-http.js';

/**
 * PCI DSS 3.3.1.2 (no verification code after authorization) and 3.4.1 (PAN masked): after
 * recharges with every test card and verification code — accepted, declined, refused, replayed,
 * malformed, refunded back to the card, told by webhook — neither a full card number nor a
 * verification code next to its field name is found anywhere the service writes: the database
 * files (SQLite and its WAL) or a dump of every table (PostgreSQL), its logs at debug level,
 * job payloads, stored idempotent answers, outbox and webhook payloads, and its answers.
 */

const ADMIN_EMAIL = 'admin@hygiene.test';
const ADMIN_PASSWORD = 'admin-password-1';
const PANS = ['6222020000000007', '4111111111111111', '5555555555554444', '3530111333300000', '378282246310005', '6222020000000001'];
const CODES = ['987', '000', '654', '4321'];

/** A full PAN, also spelt with spaces or dashes between its digits. */
const PAN_PATTERNS = PANS.map((pan) => ({ pan, re: new RegExp(pan.split('').join('[ -]?')) }));
/** A verification code right after a field name that says what it is (JSON, query, log key=value). */
const CODE_PATTERN = new RegExp(`(verification_?code|verificationCode|cvv2?|cvc2?|cvn|security_?code)\\W{0,6}(${CODES.join('|')})\\b`, 'i');

function findings(where: string, text: string): string[] {
  const out: string[] = [];
  for (const { pan, re } of PAN_PATTERNS) {
    const m = re.exec(text);
    if (m) out.push(`${where}: full card number ${pan} …${text.slice(Math.max(0, m.index - 80), m.index + 40)}…`);
  }
  const c = CODE_PATTERN.exec(text);
  if (c) out.push(`${where}: verification code …${text.slice(Math.max(0, c.index - 80), c.index + 40)}…`);
  return out;
}

/** JSON with sorted keys: how a request body is usually canonicalised before hashing. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Fast unkeyed digests an attacker with a copy of the database could match by brute force (the
 * few unknown digits of a masked PAN, 1000 verification codes): of each PAN, and of each card
 * request (method, URL and body, as sent or canonical).
 */
function guessableDigests(bodies: unknown[]): string[] {
  const texts = [...PANS, ...bodies.flatMap((b) => [JSON.stringify(b), canonical(b), `POST /v1/recharges\n${canonical(b)}`])];
  return texts.flatMap((t) => ['md5', 'sha1', 'sha256', 'sha512'].map((algorithm) => createHash(algorithm).update(t).digest('hex')));
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

describe(`card-data hygiene (${DIALECT})`, () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let http: HttpClient;
  let env: Record<string, string>;
  const answers: string[] = [];
  /** Every card request body sent. */
  const cardBodies: unknown[] = [];
  /** Files of the data directory read while the service ran (the SQLite WAL holds the newest pages). */
  let liveFiles: { name: string; text: string }[] = [];

  async function call(method: string, url: string, body: unknown, token: string, key?: string) {
    const res = await http.call(method, url, body, { token, key });
    answers.push(`${method} ${url} → ${res.status} ${res.text}`);
    return res;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    env = {
      DATA_DIR: db.dataDir,
      DATABASE_URL: db.databaseUrl ?? '',
      REDIS_URL: '',
      TOPUP_PUBLIC_URL: '',
      TOPUP_SANDBOX_FAULTS: '',
      TOPUP_ADMIN_EMAIL: ADMIN_EMAIL,
      TOPUP_ADMIN_PASSWORD: ADMIN_PASSWORD,
      TOPUP_RECHARGE_RATE_PER_MIN: '1000',
      LOG_LEVEL: 'debug',
    };
    server = await spawnTopup('serve', env);
    http = httpClient(server.url);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it('runs recharges with every test card and code, declines, refusals, replays, malformed bodies, refunds and webhooks', async () => {
    const reg = await http.post('/v1/auth/register', { email: `c-${randomUUID()}@example.com`, password: 'customer-pass-1' });
    const token = reg.body.token as string;
    const admin = (await http.post('/v1/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).body.token as string;
    const hook = await call(
      'POST',
      '/v1/webhook-endpoints',
      { url: 'http://127.0.0.1:9/never', events: ['recharge.succeeded', 'recharge.failed', 'refund.succeeded'] },
      token,
    );
    expect(hook.status, hook.text).toBe(201);

    const rechargeWith = (amount: number, method: string, pm: Record<string, unknown>, key = randomUUID()) => {
      const body = { amount, currency: 'CNY', method, payment_method: pm };
      cardBodies.push(body);
      return call('POST', '/v1/recharges', body, token, key);
    };
    let amount = 1_000;
    const succeeded: string[] = [];
    for (const pan of PANS) {
      for (const code of CODES) {
        const method = pan.startsWith('62') ? 'bank_card' : 'credit_card';
        const res = await rechargeWith(amount++, method, card(pan, { verification_code: code }));
        expect([201, 400, 422], res.text).toContain(res.status);
        if (res.status === 201 && res.body.status === 'succeeded') succeeded.push(res.body.id as string);
      }
    }
    expect(succeeded.length).toBeGreaterThanOrEqual(6);
    // Spaces and dashes, an expired card, a wrong method, an unknown field, below the minimum.
    await rechargeWith(2_001, 'credit_card', card('4111 1111 1111 1111', { verification_code: '987' }));
    await rechargeWith(2_002, 'bank_card', card('6222-0200-0000-0007', { verification_code: '987' }));
    expect(
      (await rechargeWith(2_003, 'credit_card', card('4111111111111111', { expiry: '01/20', verification_code: '987' }))).body.code,
    ).toBe('CARD_EXPIRED');
    await rechargeWith(2_004, 'alipay', card('4111111111111111', { verification_code: '987' }));
    await rechargeWith(2_005, 'credit_card', { ...card('5555555555554444', { verification_code: '987' }), cvv: '987' });
    await rechargeWith(50, 'credit_card', card('5555555555554444', { verification_code: '987' }));
    await rechargeWith(2_006, 'credit_card', card('5555555555554444', { verification_code: '98765' }));
    // Channel outcomes: declined, unknown (timeout), duplicate charge refunded to the card, refund refused.
    for (const trigger of [6604, 6605, 6602, 6603, 6606, 6607, 6609, 6610, 6601]) {
      await rechargeWith(trigger, 'credit_card', card('4111111111111111', { verification_code: '987' }));
    }
    // The same key again (a replay), and with another code (key reused).
    const key = randomUUID();
    const first = await rechargeWith(3_000, 'bank_card', card('6222020000000007', { verification_code: '987' }), key);
    const replay = await rechargeWith(3_000, 'bank_card', card('6222020000000007', { verification_code: '987' }), key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    expect((await rechargeWith(3_000, 'bank_card', card('6222020000000007', { verification_code: '654' }), key)).status).toBe(422);
    // Malformed JSON carrying card data.
    for (const body of [
      '{"amount":100,"currency":"CNY","method":"credit_card","payment_method":{"card_number":"4111111111111111","verification_code":"987"',
      '{"amount":100,"payment_method":{"card_number":"4111111111111111","verification_code":987x}}',
      '4111111111111111x',
    ]) {
      const res = await sendRaw(server.url, {
        method: 'POST',
        path: '/v1/recharges',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': randomUUID() },
        body,
      });
      answers.push(`malformed → ${res.status} ${res.text}`);
      expect(res.status).toBe(400);
    }
    // Refunds back to the card: an application approved by staff.
    const staffEmail = `agent-${randomUUID()}@hygiene.test`;
    await call('POST', '/v1/admin/staff', { email: staffEmail, password: 'staff-pass-123', role: 'cs_agent' }, admin);
    const agent = (await http.post('/v1/auth/login', { email: staffEmail, password: 'staff-pass-123' })).body.token as string;
    const applied = await call(
      'POST',
      '/v1/refunds',
      { recharge_id: succeeded[0], amount: 500, reason: 'unused_balance' },
      token,
      randomUUID(),
    );
    expect(applied.status, applied.text).toBe(201);
    await call('POST', `/v1/admin/refunds/${applied.body.id}/claim`, {}, agent);
    await call('POST', `/v1/admin/refunds/${applied.body.id}/approve`, {}, agent);
    // Everything that was scheduled runs: resolvers, notifications, payouts, settlements, webhooks,
    // mail — within the 48 h the stored idempotent answers are kept, so they are scanned too.
    for (const seconds of [60, 600, 3600, 86_400]) {
      const res = await call('POST', '/v1/sandbox/clock/advance', { seconds }, admin);
      expect(res.status).toBe(200);
    }
    for (const url of [
      '/v1/recharges?limit=100',
      '/v1/refunds?limit=100',
      '/v1/notifications?limit=100',
      '/v1/balance/transactions?limit=100',
    ]) {
      expect((await call('GET', url, undefined, token)).status).toBe(200);
    }
    for (const id of succeeded) await call('GET', `/v1/recharges/${id}`, undefined, token);
    await call('GET', '/v1/admin/outbox?limit=100', undefined, admin);
    await call('GET', '/v1/admin/audit?limit=100', undefined, admin);
    const refund = await call('GET', `/v1/refunds/${applied.body.id}`, undefined, token);
    expect(refund.body.status).toBe('succeeded');
    liveFiles = filesUnder(db.dataDir).map((name) => ({ name, text: fs.readFileSync(name).toString('latin1') }));
  });

  it('answers never carry a full card number or a verification code', () => {
    expect(answers.length).toBeGreaterThan(40);
    expect(answers.flatMap((a, i) => findings(`answer ${i}`, a))).toEqual([]);
  });

  it('the logs (debug level) hold neither', () => {
    const output = server.output();
    // Every request was logged (Fastify's request lines), failures with their errors.
    expect(output).toContain('"msg":"incoming request"');
    expect(output).toContain('"level":40');
    expect(findings('log', output)).toEqual([]);
  });

  it('the database holds neither: every table, job payloads and stored idempotent answers included', async () => {
    const tables: { table: string; rows: string[] }[] = [];
    if (db.databaseUrl) {
      const client = new pg.Client({ connectionString: db.databaseUrl });
      await client.connect();
      try {
        const names = await client.query<{ name: string }>(
          `select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`,
        );
        for (const { name } of names.rows) {
          const rows = await client.query<{ j: string }>(`select row_to_json(t)::text as j from "${name}" t`);
          tables.push({ table: name, rows: rows.rows.map((r) => r.j) });
        }
      } finally {
        await client.end();
      }
      expect(tables.map((t) => t.table)).toEqual(expect.arrayContaining(['jobs', 'idempotency_keys', 'recharges', 'webhook_deliveries']));
    } else {
      expect(liveFiles.map((f) => path.basename(f.name))).toEqual(expect.arrayContaining(['topup.sqlite', 'topup.sqlite-wal']));
      for (const file of liveFiles) tables.push({ table: `file ${path.basename(file.name)} (running)`, rows: [file.text] });
    }
    const jobs = tables.find((t) => t.table === 'jobs');
    if (jobs) expect(jobs.rows.length).toBeGreaterThan(10);
    const idempotent = tables.find((t) => t.table === 'idempotency_keys');
    if (idempotent) expect(idempotent.rows.join('\n')).toContain('"response_body"');
    expect(tables.flatMap((t) => t.rows.flatMap((r) => findings(t.table, r)))).toEqual([]);
    // Nor a fast hash of card data (PCI DSS 3.5.1.1: only keyed or slow, salted ones).
    const digests = guessableDigests(cardBodies);
    expect(cardBodies.length).toBeGreaterThan(30);
    const hashed = tables.flatMap((t) => t.rows.flatMap((r) => digests.filter((d) => r.includes(d)).map((d) => `${t.table}: ${d}`)));
    expect(hashed).toEqual([]);
    // Masked numbers are what is kept: first 6 and last 4.
    expect(tables.some((t) => t.rows.some((r) => r.includes('411111******1111')))).toBe(true);
  });

  it('after shutdown, no file of the data directory holds either', async () => {
    await server.stop();
    const files = filesUnder(db.dataDir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(findings(file, fs.readFileSync(file).toString('latin1'))).toEqual([]);
  });
});
