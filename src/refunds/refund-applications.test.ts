import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyPng, uploadEvidence } from '../../test/support/evidence-helpers.js';
import { eventually, recharge } from '../../test/support/recharge-helpers.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';

type Customer = { id: string; token: string };

describe('refund applications and the customer-service review', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000', TOPUP_AGENT_APPROVAL_CAP: '50000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  async function funded(amount = 10_000, method: 'alipay' | 'bank_card' = 'alipay'): Promise<{ c: Customer; rechargeId: string }> {
    const c = await server.customer();
    const r = await recharge(server.http, c.token, amount, method);
    expect(r.body.status).toBe('succeeded');
    return { c, rechargeId: r.body.id as string };
  }
  async function apply(c: Customer, body: Record<string, unknown>) {
    return server.http.post('/v1/refunds', body, { token: c.token, key: true });
  }
  async function balance(c: Customer) {
    return (await server.http.get('/v1/balance', { token: c.token })).body as { available: number; held: number };
  }

  it('the whole happy path: apply with evidence, request info, reply, approve, paid back to the wallet', async () => {
    const { c, rechargeId } = await funded();
    const agent = await server.staff('cs_agent');
    const evidence = await uploadEvidence(server.url, c.token, tinyPng(), 'pay.png');
    expect(evidence.status).toBe(201);
    const applied = await apply(c, {
      recharge_id: rechargeId,
      amount: 3_000,
      reason: 'unused_balance',
      description: '不再使用',
      evidence_ids: [evidence.body.id],
    });
    expect(applied.status).toBe(201);
    expect(applied.body).toMatchObject({
      status: 'submitted',
      amount: 3_000,
      reason: 'unused_balance',
      destination: 'original',
      automatic: false,
    });
    expect(applied.body.timeline.map((t: { status: string }) => t.status)).toEqual(['submitted']);
    const id = applied.body.id as string;

    const queue = await server.http.get('/v1/admin/refunds', { token: agent.token });
    expect(queue.body.data.map((r: { id: string }) => r.id)).toContain(id);
    const staffView = await server.http.get(`/v1/admin/refunds/${id}`, { token: agent.token });
    expect(staffView.body.checks.map((k: { name: string }) => k.name)).toEqual(
      expect.arrayContaining(['order_found_and_owned', 'channel_collected', 'amount_refundable', 'account_status']),
    );
    expect(staffView.body.sla_due_at).toBeTruthy();
    expect(staffView.body.evidence).toHaveLength(1);

    expect((await server.http.post(`/v1/admin/refunds/${id}/claim`, {}, { token: agent.token })).body.status).toBe('under_review');
    const asked = await server.http.post(`/v1/admin/refunds/${id}/request-info`, { message: '请提供支付截图' }, { token: agent.token });
    expect(asked.body.status).toBe('info_requested');
    const replied = await server.http.post(`/v1/refunds/${id}/replies`, { message: '已上传' }, { token: c.token });
    expect(replied.status).toBe(200);
    expect(replied.body.status).toBe('under_review');
    const approved = await server.http.post(`/v1/admin/refunds/${id}/approve`, { note: 'ok' }, { token: agent.token });
    expect(approved.status).toBe(200);
    expect(['approved', 'processing']).toContain(approved.body.status);
    // Held at approval, so it cannot be spent twice.
    const during = await balance(c);
    expect(during.available).toBe(7_000);
    expect(await server.http.post('/v1/purchases', { amount: 7_001, description: 'x' }, { token: c.token, key: true })).toMatchObject({
      status: 422,
    });

    await server.advance(60); // the payout reaches the channel
    await server.advance(5 * 60); // the wallet refund settles
    const done = await server.http.get(`/v1/refunds/${id}`, { token: c.token });
    expect(done.body.status).toBe('succeeded');
    expect(done.body.timeline.map((t: { status: string }) => t.status)).toEqual([
      'submitted',
      'under_review',
      'info_requested',
      'under_review',
      'approved',
      'processing',
      'succeeded',
    ]);
    expect(await balance(c)).toMatchObject({ available: 7_000, held: 0 });
    expect((await server.http.get(`/v1/recharges/${rechargeId}`, { token: c.token })).body.refunded_amount).toBe(3_000);
    const audit = await server.service.ctx.store.db.selectFrom('audit_log').select('action').where('target_id', '=', id).execute();
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['refund.claimed', 'refund.info_requested', 'refund.approved']));
    await server.verify();
  });

  it('refuses each rule with REFUND_NOT_ALLOWED naming the rule, and changes nothing', async () => {
    const { c, rechargeId } = await funded(10_000);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ recharge_id: rechargeId, amount: 10_001, reason: 'unused_balance' }, /refundable/],
      [{ recharge_id: rechargeId, amount: 100, reason: 'not_credited', channel_txn_no: 'x1' }, /credited/],
      [{ recharge_id: rechargeId, amount: 100, reason: 'charged_but_failed', channel_txn_no: 'x1' }, /succeeded/],
    ];
    for (const [body, detail] of cases) {
      const res = await apply(c, body);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('REFUND_NOT_ALLOWED');
      expect(res.body.detail).toMatch(detail);
    }
    await server.http.post('/v1/purchases', { amount: 9_000, description: 'spent' }, { token: c.token, key: true });
    const spent = await apply(c, { recharge_id: rechargeId, amount: 2_000, reason: 'unused_balance' });
    expect(spent.body.detail).toMatch(/available balance/);

    const failedOrder = await recharge(server.http, c.token, 6604, 'alipay');
    const noBalance = await apply(c, { recharge_id: failedOrder.body.id, amount: 100, reason: 'unused_balance' });
    expect(noBalance.body.detail).toMatch(/succeeded/);
    const noProof = await apply(c, { recharge_id: failedOrder.body.id, amount: 100, reason: 'not_credited' });
    expect(noProof.body.detail).toMatch(/serial number|evidence/);

    const first = await apply(c, { recharge_id: rechargeId, amount: 500, reason: 'unused_balance' });
    expect(first.status).toBe(201);
    const second = await apply(c, { recharge_id: rechargeId, amount: 500, reason: 'other' });
    expect(second.body.code).toBe('REFUND_NOT_ALLOWED');
    expect(second.body.detail).toContain(first.body.id);
    // Withdrawn: the recharge is open for a new application.
    expect((await server.http.post(`/v1/refunds/${first.body.id}/cancel`, {}, { token: c.token })).body.status).toBe('cancelled');
    expect((await apply(c, { recharge_id: rechargeId, amount: 500, reason: 'other' })).status).toBe(201);
    expect((await server.http.get('/v1/refunds', { token: c.token })).body.data).toHaveLength(2);
    await server.verify();
  });

  it('two agents racing to approve: exactly one wins', async () => {
    const { c, rechargeId } = await funded(10_000);
    const [a1, a2] = [await server.staff('cs_agent'), await server.staff('cs_agent')];
    const applied = await apply(c, { recharge_id: rechargeId, amount: 4_000, reason: 'unused_balance' });
    const id = applied.body.id as string;
    const answers = await Promise.all([
      server.http.post(`/v1/admin/refunds/${id}/approve`, {}, { token: a1.token }),
      server.http.post(`/v1/admin/refunds/${id}/approve`, {}, { token: a2.token }),
      server.http.post(`/v1/admin/refunds/${id}/reject`, { reason: 'dup' }, { token: a2.token }),
    ]);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    for (const lost of answers.filter((a) => a.status !== 200)) expect(lost.body.code).toBe('INVALID_STATE');
    const b = await balance(c);
    expect(b.available + b.held).toBeGreaterThanOrEqual(6_000);
    await server.advance(10 * 60);
    const held = (
      await server.service.ctx.store.db
        .selectFrom('ledger_transactions')
        .select('id')
        .where('ref', '=', id)
        .where('kind', '=', 'refund.held')
        .execute()
    ).length;
    expect(held).toBeLessThanOrEqual(1);
    await server.verify();
  });

  it('customer B never sees or touches A’s refund or evidence (404)', async () => {
    const { c: a, rechargeId } = await funded();
    const b = await server.customer();
    const ev = await uploadEvidence(server.url, a.token, tinyPng());
    const applied = await apply(a, { recharge_id: rechargeId, amount: 100, reason: 'unused_balance' });
    const id = applied.body.id as string;
    expect((await server.http.get(`/v1/refunds/${id}`, { token: b.token })).status).toBe(404);
    expect((await server.http.post(`/v1/refunds/${id}/cancel`, {}, { token: b.token })).status).toBe(404);
    expect((await server.http.post(`/v1/refunds/${id}/replies`, { message: 'x' }, { token: b.token })).status).toBe(404);
    expect((await server.http.get(`/v1/evidence/${ev.body.id}`, { token: b.token })).status).toBe(404);
    expect((await server.http.get(`/v1/evidence/${ev.body.id}/content`, { token: b.token })).status).toBe(404);
    expect((await apply(b, { recharge_id: rechargeId, amount: 100, reason: 'unused_balance' })).status).toBe(404);
    const bRecharge = await recharge(server.http, b.token, 1_000, 'alipay');
    expect(
      (await apply(b, { recharge_id: bRecharge.body.id, amount: 100, reason: 'unused_balance', evidence_ids: [ev.body.id] })).status,
    ).toBe(404);
    // Staff read it; customers cannot use staff routes.
    const agent = await server.staff('cs_agent');
    expect((await server.http.get(`/v1/evidence/${ev.body.id}/content`, { token: agent.token })).status).toBe(200);
    expect((await server.http.get('/v1/admin/refunds', { token: a.token })).status).toBe(403);
    expect((await server.http.post(`/v1/admin/refunds/${id}/approve`, {}, { token: a.token })).status).toBe(403);
    expect((await server.http.get('/v1/admin/refunds')).status).toBe(401);
  });

  it('uploads: type decided by content, size limit, crafted names never reach the filesystem, metadata stripped', async () => {
    const c = await server.customer();
    const text = await uploadEvidence(server.url, c.token, Buffer.from('hello, not an image'), 'fake.png', 'image/png');
    expect(text.status).toBe(415);
    expect(text.body.code).toBe('FILE_TYPE_NOT_ALLOWED');
    const big = Buffer.concat([tinyPng(), Buffer.alloc(5 * 1024 * 1024)]);
    const tooBig = await uploadEvidence(server.url, c.token, big, 'big.png');
    expect(tooBig.body).toMatchObject({ code: 'FILE_TOO_LARGE' });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.code).toBe('FILE_TOO_LARGE');
    const crafted = await uploadEvidence(server.url, c.token, tinyPng(), '../../../etc/passwd.png');
    expect(crafted.status).toBe(201);
    expect(crafted.body.filename).toBe('passwd.png');
    const stored = fs.readdirSync(path.join(server.db.dataDir, 'evidence'));
    expect(stored.every((name) => /^evd_[0-9a-z]+\.(png|jpg|pdf)$/.test(name))).toBe(true);
    const content = await fetch(`${server.url}/v1/evidence/${crafted.body.id}/content`, {
      headers: { authorization: `Bearer ${c.token}` },
    });
    expect(content.headers.get('content-type')).toBe('image/png');
    const bytes = Buffer.from(await content.arrayBuffer());
    expect(bytes.includes(Buffer.from('GPS'))).toBe(false);
    expect(bytes.subarray(0, 8).equals(tinyPng().subarray(0, 8))).toBe(true);
    const pdf = await uploadEvidence(
      server.url,
      c.token,
      Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF'),
      'statement.pdf',
      'application/pdf',
    );
    expect(pdf.status).toBe(201);
    expect(pdf.body.content_type).toBe('application/pdf');
  });

  it('an SLA breach escalates to supervisors on the test clock', async () => {
    const { c, rechargeId } = await funded();
    const agent = await server.staff('cs_agent');
    const supervisor = await server.staff('cs_supervisor');
    const applied = await apply(c, { recharge_id: rechargeId, amount: 1_000, reason: 'unused_balance' });
    const id = applied.body.id as string;
    await server.advance(24 * 3600 + 60);
    const view = await server.http.get(`/v1/admin/refunds/${id}`, { token: supervisor.token });
    expect(view.body).toMatchObject({ sla_breached: true, escalation_level: 2, status: 'submitted' });
    expect((await server.http.post(`/v1/admin/refunds/${id}/approve`, {}, { token: agent.token })).status).toBe(403);
    expect((await server.http.post(`/v1/admin/refunds/${id}/approve`, {}, { token: supervisor.token })).status).toBe(200);
    const customerView = await server.http.get(`/v1/refunds/${id}`, { token: c.token, language: 'en' });
    expect(customerView.body.timeline.some((t: { note: string | null }) => /escalated/.test(t.note ?? ''))).toBe(true);
    const inChinese = await server.http.get(`/v1/refunds/${id}`, { token: c.token });
    expect(inChinese.body.timeline.some((t: { note: string | null }) => /升级至主管/.test(t.note ?? ''))).toBe(true);
  });

  it('an agent approves up to the cap; above it a supervisor must', async () => {
    const { c, rechargeId } = await funded(60_000);
    const agent = await server.staff('cs_agent');
    const supervisor = await server.staff('cs_supervisor');
    const applied = await apply(c, { recharge_id: rechargeId, amount: 55_000, reason: 'unused_balance' });
    const refused = await server.http.post(`/v1/admin/refunds/${applied.body.id}/approve`, {}, { token: agent.token });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('FORBIDDEN');
    expect((await server.http.post(`/v1/admin/refunds/${applied.body.id}/approve`, {}, { token: supervisor.token })).status).toBe(200);
  });

  it('6608: a refund to this payment fails once, then succeeds on retry', async () => {
    const c = await server.customer();
    const r = await recharge(server.http, c.token, 6608, 'alipay');
    const agent = await server.staff('cs_agent');
    const applied = await apply(c, { recharge_id: r.body.id, amount: 6608, reason: 'unused_balance' });
    await server.http.post(`/v1/admin/refunds/${applied.body.id}/approve`, {}, { token: agent.token });
    // First call busy → retried within a minute → accepted → settles (wallet) within minutes.
    for (let i = 0; i < 3; i++) await server.advance(10 * 60);
    const timeline = await server.service.ctx.store.db
      .selectFrom('jobs')
      .select(['attempts'])
      .where('type', '=', 'refund.payout')
      .where('payload', 'like', `%${applied.body.id}%`)
      .executeTakeFirstOrThrow();
    // At least one failed call before the accepted one (a lease takeover under load may add one).
    expect(timeline.attempts).toBeGreaterThanOrEqual(2);
    const done = await server.http.get(`/v1/refunds/${applied.body.id}`, { token: c.token });
    expect(done.body.status).toBe('succeeded');
    expect(await balance(c)).toMatchObject({ available: 0, held: 0 });
    await server.verify();
  });

  it('6609: a refund refused for good falls back to the balance, and the customer is told', async () => {
    const c = await server.customer();
    const r = await recharge(server.http, c.token, 6609, 'alipay');
    const agent = await server.staff('cs_agent');
    const applied = await apply(c, { recharge_id: r.body.id, amount: 6609, reason: 'unused_balance' });
    await server.http.post(`/v1/admin/refunds/${applied.body.id}/approve`, {}, { token: agent.token });
    const failed = await eventually(
      async () => (await server.http.get(`/v1/refunds/${applied.body.id}`, { token: c.token })).body,
      (body) => body.status === 'failed',
    );
    expect(failed).toMatchObject({ fallback: 'balance', failure_reason: 'payer account closed' });
    expect(failed.timeline.at(-1).note).toMatch(/充值账户余额/);
    expect(await balance(c)).toMatchObject({ available: 6609, held: 0 });
    const told = await server.service.ctx.store.db.selectFrom('events').select('type').where('subject_id', '=', applied.body.id).execute();
    expect(told.map((e) => e.type)).toContain('refund.failed');
    await server.verify();
  });

  it('compensation: agents within their cap, supervisors above, audited and idempotent', async () => {
    const { c } = await funded(1_000);
    const agent = await server.staff('cs_agent');
    const supervisor = await server.staff('cs_supervisor');
    const body = { user_id: c.id, amount: 2_000, reason: 'channel outage' };
    const ok = await server.http.post('/v1/admin/compensations', body, { token: agent.token, key: 'cmp-1' });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ amount: 2_000, balance_after: 3_000 });
    const again = await server.http.post('/v1/admin/compensations', body, { token: agent.token, key: 'cmp-1' });
    expect(again.body.id).toBe(ok.body.id);
    expect((await server.http.post('/v1/admin/compensations', { ...body, amount: 6_000 }, { token: agent.token, key: true })).status).toBe(
      403,
    );
    expect(
      (await server.http.post('/v1/admin/compensations', { ...body, amount: 6_000 }, { token: supervisor.token, key: true })).status,
    ).toBe(201);
    expect((await server.http.post('/v1/admin/compensations', body, { token: c.token, key: true })).status).toBe(403);
    expect(
      (await server.http.post('/v1/admin/compensations', { ...body, user_id: 'usr_nope' }, { token: agent.token, key: true })).status,
    ).toBe(404);
    expect((await balance(c)).available).toBe(9_000);
    const report = await server.verify();
    expect(report.platform['platform:compensation']).toBeGreaterThanOrEqual(8_000);
  });
});

describe('fast path: money the channel holds goes back without staff', () => {
  let server: TestServer;
  beforeAll(async () => {
    // No background worker: notifications and resolvers run only when the test advances the clock,
    // so the customer's application comes first.
    server = await startTestServer({ worker: false, env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('not_credited: the channel confirms payment → credited at once, the application closes itself', async () => {
    const c = await server.customer();
    const r = await recharge(server.http, c.token, 6607, 'alipay');
    expect(r.body.status).toBe('pending');
    const applied = await server.http.post(
      '/v1/refunds',
      { recharge_id: r.body.id, amount: 6607, reason: 'not_credited', channel_txn_no: 'T123' },
      { token: c.token, key: true },
    );
    expect(applied.status).toBe(201);
    expect(applied.body.status).toBe('cancelled');
    expect(applied.body.timeline.at(-1)).toMatchObject({ actor: 'system' });
    expect((await server.http.get('/v1/balance', { token: c.token })).body.available).toBe(6607);
    expect((await server.http.get(`/v1/recharges/${r.body.id}`, { token: c.token })).body.status).toBe('succeeded');
    await server.verify();
  });

  it('duplicate_charge: the channel shows a second collection → this application becomes the refund', async () => {
    const c = await server.customer();
    const r = await recharge(server.http, c.token, 6606, 'alipay');
    expect(r.body.status).toBe('succeeded');
    const applied = await server.http.post(
      '/v1/refunds',
      { recharge_id: r.body.id, amount: 6606, reason: 'duplicate_charge', channel_txn_no: 'T2' },
      { token: c.token, key: true },
    );
    expect(applied.body).toMatchObject({ status: 'approved', reason: 'duplicate_charge' });
    expect(applied.body.timeline.map((t: { actor: string }) => t.actor)).toEqual([`user:${c.id}`, 'system']);
    await server.advance(5 * 60); // payout sent
    await server.advance(5 * 60); // wallet refund settled
    expect((await server.http.get(`/v1/refunds/${applied.body.id}`, { token: c.token })).body.status).toBe('succeeded');
    expect((await server.http.get('/v1/refunds', { token: c.token })).body.data).toHaveLength(1);
    expect((await server.http.get('/v1/balance', { token: c.token })).body.available).toBe(6606);
    await server.verify();
  });

  it('charged_but_failed: a late collection on a failed order refunds the open application', async () => {
    const c = await server.customer();
    const r = await recharge(server.http, c.token, 6610, 'alipay');
    expect(r.body.status).toBe('failed');
    const applied = await server.http.post(
      '/v1/refunds',
      { recharge_id: r.body.id, amount: 6610, reason: 'charged_but_failed', channel_txn_no: 'T3' },
      { token: c.token, key: true },
    );
    expect(applied.body.status).toBe('submitted');
    await server.advance(11 * 60);
    await server.advance(5 * 60);
    const done = await server.http.get(`/v1/refunds/${applied.body.id}`, { token: c.token });
    expect(done.body.status).toBe('succeeded');
    expect((await server.http.get('/v1/refunds', { token: c.token })).body.data).toHaveLength(1);
    expect((await server.http.get('/v1/balance', { token: c.token })).body.available).toBe(0);
    await server.verify();
  });

  it('a duplicate charge whose notifications were lost is still found (the resolver looks once after success)', async () => {
    const c = await server.customer();
    const r = await recharge(server.http, c.token, 6606, 'wechat_pay');
    expect(r.body.status).toBe('succeeded');
    // The channel's notifications never arrive.
    await server.service.ctx.store.db.deleteFrom('jobs').where('type', '=', 'sandbox.notify').execute();
    await server.advance(15);
    const refunds = (await server.http.get('/v1/refunds', { token: c.token })).body.data;
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ reason: 'duplicate_charge', automatic: true, amount: 6606 });
    await server.verify();
  });
});
