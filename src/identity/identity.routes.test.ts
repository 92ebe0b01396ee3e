import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectFieldError, expectProblem } from '../../test/support/expect-problem.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer, type TestServer } from '../../test/support/test-server.js';
import { STAFF_ROLES } from './roles.js';

const email = (tag = 'u') => `${tag}-${randomUUID()}@example.com`;
const PASSWORD = 'correct-horse-1';

describe('identity routes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ worker: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('POST /v1/auth/register', () => {
    it('creates a customer, answers 201 with the user and a working token, never the password', async () => {
      const address = `Reg-${randomUUID()}@Example.COM`;
      const res = await server.http.post('/v1/auth/register', { email: address, password: PASSWORD, phone: '13800138000', name: '张三' });
      expect(res.status, res.text).toBe(201);
      expect(res.body.user).toMatchObject({ email: address.toLowerCase(), roles: ['customer'], phone: '13800138000', name: '张三' });
      expect(res.body.user.id).toMatch(/^usr_/);
      expect(typeof res.body.token).toBe('string');
      expect(res.body.token.length).toBeGreaterThan(20);
      expect(res.text).not.toContain(PASSWORD);
      expect(res.text).not.toContain('password');

      const me = await server.http.get('/v1/me', { token: res.body.token });
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ id: res.body.user.id, email: address.toLowerCase(), phone: '13800138000', roles: ['customer'] });
    });

    it('answers phone and name as null when not given', async () => {
      const res = await server.http.post('/v1/auth/register', { email: email(), password: PASSWORD });
      expect(res.status).toBe(201);
      expect(res.body.user.phone).toBeNull();
      expect(res.body.user.name).toBeNull();
    });

    it('refuses an email that is already registered (whatever its case) and keeps the first password', async () => {
      const address = email('dup');
      expect((await server.http.post('/v1/auth/register', { email: address, password: PASSWORD })).status).toBe(201);
      const again = await server.http.post('/v1/auth/register', { email: address.toUpperCase(), password: 'another-pass-9' });
      expectFieldError(again, 'email');
      const hijack = await server.http.post('/v1/auth/login', { email: address, password: 'another-pass-9' });
      expectProblem(hijack, 401, 'UNAUTHENTICATED');
      expect((await server.http.post('/v1/auth/login', { email: address, password: PASSWORD })).status).toBe(200);
    });

    it.each([
      ['a malformed email', { email: 'not-an-email', password: PASSWORD }, 'email'],
      ['a short password', { email: 'short@example.com', password: 'short' }, 'password'],
      ['a missing password', { email: 'nopass@example.com' }, 'password'],
      ['a malformed phone', { email: 'phone@example.com', password: PASSWORD, phone: '12345' }, 'phone'],
      ['a password sent as a number', { email: 'num@example.com', password: 12345678 }, 'password'],
      ['an unknown field', { email: 'extra@example.com', password: PASSWORD, nickname: 'x' }, 'nickname'],
    ])('refuses %s with VALIDATION_FAILED and creates nobody', async (_case, body: Record<string, unknown>, field) => {
      const res = await server.http.post('/v1/auth/register', body);
      expectFieldError(res, field);
      const users = await server.service.ctx.store.db.selectFrom('users').select('id').where('email', '=', String(body.email)).execute();
      expect(users).toEqual([]);
    });

    it('cannot be used to sign up as staff: a role field is an unknown field', async () => {
      const address = email('sneaky');
      const res = await server.http.post('/v1/auth/register', { email: address, password: PASSWORD, role: 'admin' });
      expectFieldError(res, 'role');
      expect((await server.http.post('/v1/auth/login', { email: address, password: PASSWORD })).status).toBe(401);
    });
  });

  describe('POST /v1/auth/login', () => {
    it('answers 200 with the user and a fresh token, email case-insensitive', async () => {
      const address = email('login');
      const registered = await server.http.post('/v1/auth/register', { email: address, password: PASSWORD });
      const res = await server.http.post('/v1/auth/login', { email: address.toUpperCase(), password: PASSWORD });
      expect(res.status, res.text).toBe(200);
      expect(res.body.user).toMatchObject({ id: registered.body.user.id, email: address, roles: ['customer'] });
      expect(res.body.token).not.toBe(registered.body.token);
      const me = await server.http.get('/v1/me', { token: res.body.token });
      expect(me.body.id).toBe(registered.body.user.id);
    });

    it('signs staff in with their role', async () => {
      const res = await server.http.post('/v1/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
      expect(res.status).toBe(200);
      expect(res.body.user.roles).toEqual(['admin']);
    });

    it('answers a wrong password and an unknown email alike: 401 UNAUTHENTICATED, no token', async () => {
      const address = email('wrong');
      await server.http.post('/v1/auth/register', { email: address, password: PASSWORD });
      const wrong = await server.http.post('/v1/auth/login', { email: address, password: 'wrong-password-1' });
      const unknown = await server.http.post('/v1/auth/login', { email: email('nobody'), password: PASSWORD });
      expectProblem(wrong, 401, 'UNAUTHENTICATED');
      expectProblem(unknown, 401, 'UNAUTHENTICATED');
      expect(wrong.body.detail).toBe(unknown.body.detail);
      expect(wrong.body.token).toBeUndefined();
    });

    it.each([
      ['a missing password', { email: 'x@example.com' }, 'password'],
      ['an unknown field', { email: 'x@example.com', password: PASSWORD, remember: true }, 'remember'],
      ['a password sent as a number', { email: 'x@example.com', password: 12345678 }, 'password'],
    ])('refuses %s with VALIDATION_FAILED', async (_case, body, field) => {
      expectFieldError(await server.http.post('/v1/auth/login', body), field);
    });
  });

  describe('GET /v1/me', () => {
    it('answers the signed-in user with the listed fields', async () => {
      const customer = await server.customer();
      const res = await server.http.get('/v1/me', { token: customer.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: customer.id, email: customer.email, phone: null, roles: ['customer'] });
    });

    it('works for staff too', async () => {
      const agent = await server.staff('cs_agent');
      const res = await server.http.get('/v1/me', { token: agent.token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: agent.id, email: agent.email, roles: ['cs_agent'] });
    });

    it.each([
      ['no token', {}],
      ['a made-up token', { authorization: 'Bearer tps_made-up-token-that-does-not-exist' }],
      ['garbage', { authorization: 'Bearer garbage' }],
      ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ])('answers 401 UNAUTHENTICATED with %s', async (_case, headers) => {
      expectProblem(await server.http.get('/v1/me', { headers }), 401, 'UNAUTHENTICATED');
    });
  });

  describe('POST /v1/admin/staff', () => {
    it.each(STAFF_ROLES)('lets an admin create a %s who can then sign in with that role', async (role) => {
      const admin = await server.adminToken();
      const address = email(role);
      const res = await server.http.post('/v1/admin/staff', { email: address, password: PASSWORD, role }, { token: admin });
      expect(res.status, res.text).toBe(201);
      expect(res.body).toMatchObject({ email: address, roles: [role] });
      expect(res.body.id).toMatch(/^usr_/);
      expect(res.text).not.toContain(PASSWORD);
      const login = await server.http.post('/v1/auth/login', { email: address, password: PASSWORD });
      expect(login.status).toBe(200);
      expect(login.body.user).toMatchObject({ id: res.body.id, roles: [role] });
    });

    it('writes an audit row naming the admin, without the password', async () => {
      const admin = await server.adminToken();
      const adminId = (await server.http.get('/v1/me', { token: admin })).body.id as string;
      const res = await server.http.post(
        '/v1/admin/staff',
        { email: email('audit'), password: PASSWORD, role: 'finance' },
        { token: admin },
      );
      expect(res.status).toBe(201);
      const rows = await server.service.ctx.store.db.selectFrom('audit_log').selectAll().where('target_id', '=', res.body.id).execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ action: 'staff.created', actor: `staff:${adminId}`, target_type: 'user' });
      expect(rows[0]?.data).not.toContain(PASSWORD);
    });

    it.each(['cs_agent', 'cs_supervisor', 'finance'] as const)('answers 403 FORBIDDEN to a %s and creates nobody', async (role) => {
      const staff = await server.staff(role);
      const address = email('forbidden');
      const res = await server.http.post('/v1/admin/staff', { email: address, password: PASSWORD, role: 'admin' }, { token: staff.token });
      expectProblem(res, 403, 'FORBIDDEN');
      expect((await server.http.post('/v1/auth/login', { email: address, password: PASSWORD })).status).toBe(401);
    });

    it('answers 403 FORBIDDEN to a customer and 401 UNAUTHENTICATED without a token', async () => {
      const customer = await server.customer();
      const body = { email: email('nope'), password: PASSWORD, role: 'admin' };
      expectProblem(await server.http.post('/v1/admin/staff', body, { token: customer.token }), 403, 'FORBIDDEN');
      expectProblem(await server.http.post('/v1/admin/staff', body), 401, 'UNAUTHENTICATED');
      expect((await server.http.post('/v1/auth/login', { email: body.email, password: PASSWORD })).status).toBe(401);
    });

    it.each([
      ['role customer', { role: 'customer' }, 'role'],
      ['an unknown role', { role: 'root' }, 'role'],
      ['a missing role', { role: undefined }, 'role'],
      ['a short password', { role: 'cs_agent', password: 'short' }, 'password'],
      ['an unknown field', { role: 'cs_agent', team: 'night' }, 'team'],
    ])('refuses %s with VALIDATION_FAILED', async (_case, overrides, field) => {
      const admin = await server.adminToken();
      const res = await server.http.post('/v1/admin/staff', { email: email('bad'), password: PASSWORD, ...overrides }, { token: admin });
      expectFieldError(res, field);
    });

    it('refuses an email that is already registered', async () => {
      const admin = await server.adminToken();
      const customer = await server.customer();
      const res = await server.http.post('/v1/admin/staff', { email: customer.email, password: PASSWORD, role: 'admin' }, { token: admin });
      expectFieldError(res, 'email');
      const me = await server.http.get('/v1/me', { token: customer.token });
      expect(me.body.roles).toEqual(['customer']);
    });
  });
});
