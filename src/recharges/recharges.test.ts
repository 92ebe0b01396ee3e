import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARDS, card, eventually, recharge } from '../../test/support/recharge-helpers.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';

/**
 * Every test card and amount trigger of the contract's sandbox section, end to end over HTTP
 * with the sandbox's real HTTP notifications and the test clock, each followed by `verify`.
 */
describe('recharges through the sandbox channels', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  async function balance(token: string): Promise<number> {
    const res = await server.http.get('/v1/balance', { token });
    return res.body.available as number;
  }
  async function order(token: string, id: string) {
    return (await server.http.get(`/v1/recharges/${id}`, { token })).body;
  }
  async function orderCount(token: string): Promise<number> {
    return ((await server.http.get('/v1/recharges?limit=100', { token })).body.data as unknown[]).length;
  }

  it.each([
    ['bank_card', CARDS.bank, 'sandbox_unionpay_a'],
    ['credit_card', CARDS.visa, 'sandbox_unionpay_a'],
    ['credit_card', CARDS.mastercard, 'sandbox_unionpay_a'],
  ] as const)('%s %s succeeds and credits the balance', async (method, number, provider) => {
    const c = await server.customer();
    const res = await recharge(server.http, c.token, 10_000, method, card(number));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'succeeded',
      amount: 10_000,
      currency: 'CNY',
      method,
      provider,
      failure: null,
      refunded_amount: 0,
    });
    expect(res.body.id).toMatch(/^rch_/);
    expect(res.body.payment_method.masked).toBe(`${number.slice(0, 6)}${'*'.repeat(number.length - 10)}${number.slice(-4)}`);
    expect(await balance(c.token)).toBe(10_000);
    const detail = await order(c.token, res.body.id);
    expect(detail.attempts).toHaveLength(1);
    expect(detail.attempts[0]).toMatchObject({ provider, status: 'succeeded' });
    await server.verify();
  });

  it.each([
    ['alipay', 'sandbox_alipay'],
    ['wechat_pay', 'sandbox_wechat'],
  ] as const)('%s succeeds through %s', async (method, provider) => {
    const c = await server.customer();
    const res = await recharge(server.http, c.token, 2_345, method);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'succeeded', provider, failure: null });
    expect(await balance(c.token)).toBe(2_345);
  });

  it.each([
    [CARDS.jcb, 'CARD_NOT_SUPPORTED'],
    [CARDS.amex, 'CARD_NOT_SUPPORTED'],
    [CARDS.badChecksum, 'CARD_NUMBER_INVALID'],
  ])('card %s is refused with %s before any channel call, creating nothing', async (number, code) => {
    const c = await server.customer();
    const res = await recharge(server.http, c.token, 10_000, 'credit_card', card(number));
    expect(res.status).toBe(422);
    expect(res.body.code).toBe(code);
    expect(await orderCount(c.token)).toBe(0);
  });

  it('refuses an expired card, a malformed body and amounts outside the limits', async () => {
    const c = await server.customer();
    const expired = await recharge(server.http, c.token, 10_000, 'bank_card', card(CARDS.bank, { expiry: '01/20' }));
    expect(expired.body.code).toBe('CARD_EXPIRED');
    const tooSmall = await recharge(server.http, c.token, 99);
    expect(tooSmall.status).toBe(400);
    expect(tooSmall.body.code).toBe('VALIDATION_FAILED');
    const asString = await server.http.post(
      '/v1/recharges',
      { amount: '10000', currency: 'CNY', method: 'alipay', payment_method: { payer_account: 'a@b.c' } },
      { token: c.token, key: true },
    );
    expect(asString.body.code).toBe('VALIDATION_FAILED');
    const wrongShape = await recharge(server.http, c.token, 10_000, 'alipay', card(CARDS.bank));
    expect(wrongShape.body.code).toBe('VALIDATION_FAILED');
    const perTx = await recharge(server.http, c.token, 5_000_001);
    expect(perTx.status).toBe(422);
    expect(perTx.body.code).toBe('LIMIT_EXCEEDED');
    expect(await orderCount(c.token)).toBe(0);
  });

  it('a channel decline makes a failed order with the code and a localized next step', async () => {
    const c = await server.customer();
    const cvv = await recharge(server.http, c.token, 10_000, 'bank_card', card(CARDS.bank, { verification_code: '000' }), {
      language: 'en',
    });
    expect(cvv.status).toBe(201);
    expect(cvv.body.status).toBe('failed');
    expect(cvv.body.failure).toMatchObject({ code: 'VERIFICATION_CODE_INVALID', retryable: false });
    expect(cvv.body.failure.message).toMatch(/verification code/i);
    const wallet = await recharge(server.http, c.token, 10_000, 'alipay', { payer_account: 'invalid@sandbox' });
    expect(wallet.body.failure).toMatchObject({ code: 'ACCOUNT_INFO_INVALID', retryable: false });
    const funds = await recharge(server.http, c.token, 6604);
    expect(funds.body.failure.code).toBe('INSUFFICIENT_FUNDS');
    expect(funds.body.failure.message).toContain('余额不足');
    const limit = await recharge(server.http, c.token, 6605);
    expect(limit.body.failure.code).toBe('LIMIT_EXCEEDED');
    expect(await balance(c.token)).toBe(0);
    await server.verify();
  });

  it('6601: a card recharge fails over to sandbox_unionpay_b (two attempts); a wallet fails SYSTEM_BUSY', async () => {
    const c = await server.customer();
    const cardOrder = await recharge(server.http, c.token, 6601);
    expect(cardOrder.body).toMatchObject({ status: 'succeeded', provider: 'sandbox_unionpay_b', failure: null });
    const detail = await order(c.token, cardOrder.body.id);
    expect(detail.attempts.map((a: { provider: string; status: string }) => [a.provider, a.status])).toEqual([
      ['sandbox_unionpay_a', 'failed'],
      ['sandbox_unionpay_b', 'succeeded'],
    ]);
    const wallet = await recharge(server.http, c.token, 6601, 'alipay');
    expect(wallet.body.status).toBe('failed');
    expect(wallet.body.failure).toMatchObject({ code: 'SYSTEM_BUSY', retryable: true });
    expect(await balance(c.token)).toBe(6601);
    await server.verify();
  });

  it('6611: every provider is busy → failed SYSTEM_BUSY, retryable, suggesting a ticket if it persists', async () => {
    const c = await server.customer();
    const res = await recharge(server.http, c.token, 6611);
    expect(res.body.status).toBe('failed');
    expect(res.body.failure).toMatchObject({ code: 'SYSTEM_BUSY', retryable: true });
    expect(res.body.failure.message).toContain('系统繁忙,请稍候再试');
    expect(res.body.failure.message).toContain('工单');
    const en = await server.http.get(`/v1/recharges/${res.body.id}`, { token: c.token, language: 'en' });
    expect(en.body.failure.message).toMatch(/ticket/i);
  });

  it('6602: the request times out but the channel collected → pending, then the resolver finds it paid', async () => {
    const c = await server.customer();
    const res = await recharge(server.http, c.token, 6602);
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('pending');
    expect((await order(c.token, res.body.id)).attempts[0].status).toBe('unknown');
    await server.advance(60);
    const after = await order(c.token, res.body.id);
    expect(after.status).toBe('succeeded');
    expect(after.failure).toBeNull();
    expect(await balance(c.token)).toBe(6602);
    await server.advance(3600); // the late notification changes nothing
    expect(await balance(c.token)).toBe(6602);
    await server.verify();
  });

  it('6603: the request times out and nothing was collected → failed with CHANNEL_TIMEOUT', async () => {
    const c = await server.customer();
    const res = await recharge(server.http, c.token, 6603);
    expect(res.body.status).toBe('pending');
    await server.advance(60);
    const after = await order(c.token, res.body.id);
    expect(after.status).toBe('failed');
    expect(after.failure).toMatchObject({ code: 'CHANNEL_TIMEOUT', retryable: true });
    expect(await balance(c.token)).toBe(0);
    await server.verify();
  });

  it('6606: collected twice → one credit, the duplicate refunded automatically (duplicate_charge)', async () => {
    const c = await server.customer();
    const res = await recharge(server.http, c.token, 6606);
    expect(res.body.status).toBe('succeeded');
    const refunds = await eventually(
      async () => (await server.http.get('/v1/refunds', { token: c.token })).body.data as Record<string, unknown>[],
      (list) => list.length === 1,
    );
    expect(refunds[0]).toMatchObject({
      recharge_id: res.body.id,
      amount: 6606,
      reason: 'duplicate_charge',
      automatic: true,
      destination: 'original',
    });
    expect(['approved', 'processing']).toContain(refunds[0]?.status);
    await server.advance(60); // the payout reaches the channel
    await server.advance(24 * 3600);
    const settled = (await server.http.get(`/v1/refunds/${refunds[0]?.id}`, { token: c.token })).body;
    expect(settled.status).toBe('succeeded');
    expect(settled.timeline.map((t: { status: string }) => t.status)).toEqual(['approved', 'processing', 'succeeded']);
    expect(settled.timeline[0].actor).toBe('system');
    expect(await balance(c.token)).toBe(6606);
    expect((await order(c.token, res.body.id)).refunded_amount).toBe(6606);
    const report = await server.verify();
    expect(report.platform['refunds:in_flight'] ?? 0).toBe(0);
  });

  it('6607: collected without any notification → found by the resolver', async () => {
    const c = await server.customer();
    const res = await recharge(server.http, c.token, 6607);
    expect(res.body.status).toBe('pending');
    await server.advance(60);
    expect((await order(c.token, res.body.id)).status).toBe('succeeded');
    expect(await balance(c.token)).toBe(6607);
    await server.verify();
  });

  it('6610: answers failed at once, collects 10 minutes later → automatic refund (charged_but_failed)', async () => {
    const c = await server.customer();
    const res = await recharge(server.http, c.token, 6610, 'wechat_pay');
    expect(res.body.status).toBe('failed');
    expect(res.body.failure.retryable).toBe(true);
    await server.advance(11 * 60);
    const refunds = await eventually(
      async () => (await server.http.get('/v1/refunds', { token: c.token })).body.data as Record<string, unknown>[],
      (list) => list.length === 1,
    );
    expect(refunds[0]).toMatchObject({ reason: 'charged_but_failed', amount: 6610, automatic: true });
    await server.advance(60); // the payout reaches the channel
    await server.advance(24 * 3600);
    const settled = (await server.http.get(`/v1/refunds/${refunds[0]?.id}`, { token: c.token })).body;
    expect(settled.status).toBe('succeeded');
    expect((await order(c.token, res.body.id)).status).toBe('failed');
    expect(await balance(c.token)).toBe(0);
    await server.verify();
  });

  it('the same Idempotency-Key sent concurrently creates one order and one charge', async () => {
    const c = await server.customer();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => recharge(server.http, c.token, 1_000, 'alipay', undefined, { key: 'same-key' })),
    );
    for (const a of answers) expect([201, 409]).toContain(a.status);
    const ids = new Set(answers.filter((a) => a.status === 201).map((a) => a.body.id));
    expect(ids.size).toBe(1);
    expect(await orderCount(c.token)).toBe(1);
    expect(await balance(c.token)).toBe(1_000);
  });

  it('lists 我的充值 newest first with status filters, and hides other customers’ orders (404)', async () => {
    const a = await server.customer();
    const b = await server.customer();
    const ok = await recharge(server.http, a.token, 1_000, 'alipay');
    const failed = await recharge(server.http, a.token, 6604, 'alipay');
    const list = await server.http.get('/v1/recharges', { token: a.token });
    expect(list.body.data.map((r: { id: string }) => r.id)).toEqual([failed.body.id, ok.body.id]);
    const onlyFailed = await server.http.get('/v1/recharges?status=failed', { token: a.token });
    expect(onlyFailed.body.data.map((r: { id: string }) => r.id)).toEqual([failed.body.id]);
    const other = await server.http.get(`/v1/recharges/${ok.body.id}`, { token: b.token });
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('NOT_FOUND');
    const anon = await server.http.get('/v1/recharges');
    expect(anon.status).toBe(401);
  });

  it('never stores the verification code or the full card number', async () => {
    const c = await server.customer();
    await recharge(server.http, c.token, 10_000, 'bank_card', card(CARDS.bank, { verification_code: '987' }));
    const db = server.service.ctx.store.db;
    const rows = JSON.stringify([
      await db.selectFrom('recharges').selectAll().execute(),
      await db.selectFrom('recharge_attempts').selectAll().execute(),
      await db.selectFrom('jobs').selectAll().execute(),
      await db.selectFrom('idempotency_keys').select(['response_body']).execute(),
    ]);
    expect(rows).not.toContain(CARDS.bank);
    expect(rows).not.toMatch(/verification_code/);
  });
});

describe('recharge limits and risk control', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { TOPUP_RECHARGE_RATE_PER_MIN: '3', TOPUP_LIMIT_DAILY: '25000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers RATE_LIMITED with Retry-After past the per-minute attempts, until the window passes', async () => {
    const c = await server.customer();
    for (let i = 0; i < 3; i++) expect((await recharge(server.http, c.token, 100, 'alipay')).status).toBe(201);
    const limited = await recharge(server.http, c.token, 100, 'alipay');
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    await server.advance(61);
    expect((await recharge(server.http, c.token, 100, 'alipay')).status).toBe(201);
  });

  it('counts succeeded and pending recharges toward the daily limit, not failed ones', async () => {
    const c = await server.customer();
    expect((await recharge(server.http, c.token, 10_000, 'alipay')).body.status).toBe('succeeded');
    expect((await recharge(server.http, c.token, 6604, 'alipay')).body.status).toBe('failed');
    await server.advance(61);
    expect((await recharge(server.http, c.token, 10_000, 'alipay')).body.status).toBe('succeeded');
    const over = await recharge(server.http, c.token, 5_001, 'alipay');
    expect(over.status).toBe(422);
    expect(over.body.code).toBe('LIMIT_EXCEEDED');
    expect((await recharge(server.http, c.token, 5_000, 'alipay')).body.status).toBe('succeeded');
  });
});

describe('我的充值 date filters', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('filters by Asia/Shanghai calendar days or RFC 3339 times, and refuses nonsense', async () => {
    const c = await server.customer();
    const first = await recharge(server.http, c.token, 1_000, 'alipay');
    await server.advance(2 * 86_400);
    const second = await recharge(server.http, c.token, 2_000, 'alipay');
    const day = (iso: string) => new Date(Date.parse(iso) + 8 * 3600_000).toISOString().slice(0, 10);
    const onFirstDay = await server.http.get(`/v1/recharges?from=${day(first.body.created_at)}&to=${day(first.body.created_at)}`, {
      token: c.token,
    });
    expect(onFirstDay.body.data.map((r: { id: string }) => r.id)).toEqual([first.body.id]);
    const since = await server.http.get(`/v1/recharges?from=${encodeURIComponent(second.body.created_at)}`, { token: c.token });
    expect(since.body.data.map((r: { id: string }) => r.id)).toEqual([second.body.id]);
    for (const bad of ['2026-13-45', 'yesterday', '2026-01-01T25:00:00Z']) {
      const res = await server.http.get(`/v1/recharges?from=${bad}`, { token: c.token });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
  });
});

describe('a recharge key that comes back after its stored answer was released', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { TOPUP_RECHARGE_RATE_PER_MIN: '1000', TOPUP_LIMIT_DAILY: '5000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers with the order that holds the key, before any limit could refuse the retry', async () => {
    const c = await server.customer();
    const first = await recharge(server.http, c.token, 3000, 'alipay', undefined, { key: 'released-key' });
    expect(first.status).toBe(201);
    expect(first.body.status).toBe('succeeded');
    // A 5xx answer or the retention purge removes the stored answer; the order keeps the key.
    await server.service.ctx.store.db.deleteFrom('idempotency_keys').where('key', '=', 'released-key').execute();
    const retry = await recharge(server.http, c.token, 3000, 'alipay', undefined, { key: 'released-key' });
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(first.body.id);
    const balance = await server.http.get('/v1/balance', { token: c.token });
    expect(balance.body.available).toBe(3000);
    await server.verify();
  });
});
