import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { loadConfig } from '../../config.js';
import type { Context } from '../../context.js';
import { OffsetClock, shanghaiDay } from '../../domain/clock.js';
import { buildHttpApp } from '../../http/app.js';
import { createStaff } from '../../identity/create-staff.js';
import { createSession } from '../../identity/sessions.js';
import { Worker } from '../../jobs/worker.js';
import { createLogger } from '../../ops/logger.js';
import { createMetrics } from '../../ops/metrics.js';
import { MemoryRateLimiter } from '../../ops/rate-limiter.js';
import { openStore, type Store } from '../../store/database.js';
import { migrateToLatest } from '../../store/migrations.js';
import {
  ChannelFault,
  type ChannelNotification,
  type PaymentChannel,
  type PaymentMethod,
  type PaymentSource,
  type PayResult,
} from '../payment-channel.js';
import {
  createSandboxChannels,
  parseSandboxFaults,
  RESEND_SCHEDULE_MS,
  registerSandboxJobs,
  type SandboxTables,
  sandboxRoutes,
  signSandboxNotification,
} from './index.js';

const CARD = '6222020000000007';
const CREDIT = '4111111111111111';
const CODE = '739';
const card = (verificationCode = CODE, cardNumber = CARD): PaymentSource => ({
  kind: 'card',
  cardNumber,
  expiry: '12/39',
  verificationCode,
  holderName: 'Zhang San',
});
const wallet = (payerAccount = 'payer@example.com'): PaymentSource => ({ kind: 'wallet', payerAccount });

interface Received {
  provider: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  notification: ChannelNotification | null;
  status: number;
}

let database: TestDatabase;
let store: Store;
let clock: OffsetClock;
let ctx: Context;
let worker: Worker;
let server: http.Server;
let baseUrl: string;
let channels: Map<string, PaymentChannel>;
/** Every request the stand-in notify endpoint got, verified through the channel. */
const received: Received[] = [];
/** Decides the stand-in endpoint's answer; 200 unless a test says otherwise. */
let answer: (r: Received) => number = () => 200;

function ch(provider: string): PaymentChannel {
  const channel = channels.get(provider);
  if (!channel) throw new Error(`no channel ${provider}`);
  return channel;
}

function sdb() {
  return store.db.withTables<SandboxTables>();
}

function attemptId(): string {
  return `att_${randomUUID()}`;
}

async function pay(provider: string, amount: number, source: PaymentSource, id = attemptId(), method?: PaymentMethod) {
  const channel = ch(provider);
  const m: PaymentMethod =
    method ?? (source.kind === 'wallet' ? (provider === 'sandbox_alipay' ? 'alipay' : 'wechat_pay') : (channel.methods[0] ?? 'bank_card'));
  const result = await channel.pay({ attemptId: id, amount, currency: 'CNY', method: m, source, description: 'test' });
  return { id, result };
}

async function payFault(provider: string, amount: number, source: PaymentSource, id = attemptId()): Promise<ChannelFault> {
  const error = await pay(provider, amount, source, id).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ChannelFault);
  return error as ChannelFault;
}

/** Moves the service clock forward and runs every job that became due (what the sandbox clock does). */
async function advance(ms: number): Promise<void> {
  clock.setOffset(clock.offset + ms);
  for (let pass = 0; pass < 20; pass++) {
    if ((await worker.runAllDue()) === 0) break;
  }
}

function paymentNotices(attempt: string): ChannelNotification[] {
  return received
    .filter((r) => r.status === 200)
    .map((r) => r.notification)
    .filter((n): n is ChannelNotification => n?.event === 'payment.succeeded' && n.attemptId === attempt);
}

function refundNotices(refundId: string): ChannelNotification[] {
  return received
    .filter((r) => r.status === 200)
    .map((r) => r.notification)
    .filter((n): n is ChannelNotification => n !== null && n.event !== 'payment.succeeded' && n.refundId === refundId);
}

function succeeded(result: PayResult): Extract<PayResult, { outcome: 'succeeded' }> {
  if (result.outcome !== 'succeeded') throw new Error(`expected succeeded, got ${JSON.stringify(result)}`);
  return result;
}

beforeAll(async () => {
  database = await createTestDatabase();
  store = openStore({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
  await migrateToLatest(store.db as never, store.dialect);
  clock = new OffsetClock();
  const log = createLogger('silent');
  const metrics = createMetrics();
  const config = { ...loadConfig({ DATA_DIR: database.dataDir }), sandbox: true, sandboxFaults: null };
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const provider = /^\/v1\/channels\/([^/]+)\/notify$/.exec(request.url ?? '')?.[1] ?? '';
      const channel = channels.get(provider);
      const entry: Received = { provider, headers: request.headers, raw, notification: null, status: 0 };
      const verified = channel ? channel.verifyNotification(request.headers, raw) : Promise.reject(new Error('no such provider'));
      verified
        .then((n) => {
          entry.notification = n;
          entry.status = answer(entry);
        })
        .catch(() => {
          entry.status = 401;
        })
        .finally(() => {
          received.push(entry);
          response.writeHead(entry.status, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ status: entry.status === 200 ? 'ok' : 'error' }));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ctx = { config, store, clock, log, metrics, limiter: new MemoryRateLimiter(clock), publicUrl: { current: baseUrl } };
  channels = new Map(createSandboxChannels(ctx).map((c) => [c.provider, c]));
  worker = new Worker(store, clock, log, metrics, { pollMs: 50 });
  registerSandboxJobs(ctx, worker);
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await store?.close();
  await database?.drop();
});

beforeEach(() => {
  answer = () => 200;
});

describe('sandbox providers', () => {
  it('are the four of the contract, in priority order, with their methods', () => {
    expect(createSandboxChannels(ctx).map((c) => [c.provider, [...c.methods]])).toEqual([
      ['sandbox_unionpay_a', ['bank_card', 'credit_card']],
      ['sandbox_unionpay_b', ['bank_card', 'credit_card']],
      ['sandbox_alipay', ['alipay']],
      ['sandbox_wechat', ['wechat_pay']],
    ]);
  });
});

describe('pay', () => {
  it('collects a normal card payment, answers succeeded with a credential token, and notifies asynchronously', async () => {
    const { id, result } = await pay('sandbox_unionpay_a', 10000, card());
    const ok = succeeded(result);
    expect(ok.channelTxnId).toMatch(/^UPA/);
    expect(ok.credentialToken).toMatch(/^tok_/);

    const status = await ch('sandbox_unionpay_a').query(id);
    expect(status.status).toBe('paid');
    expect(status.collections).toEqual([{ channelTxnId: ok.channelTxnId, amount: 10000, paidAt: ok.paidAt }]);
    expect(status.credentialToken).toBe(ok.credentialToken);

    const row = await sdb().selectFrom('sandbox_payments').selectAll().where('attempt_id', '=', id).executeTakeFirstOrThrow();
    expect(row.source_masked).toBe('622202******0007');
    const credential = await sdb()
      .selectFrom('sandbox_credentials')
      .selectAll()
      .where('token', '=', ok.credentialToken ?? '')
      .executeTakeFirstOrThrow();
    expect(credential).toMatchObject({ provider: 'sandbox_unionpay_a', method: 'bank_card', source_masked: '622202******0007' });

    await advance(1_000);
    const notices = paymentNotices(id);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ event: 'payment.succeeded', attemptId: id, channelTxnId: ok.channelTxnId, amount: 10000 });
  });

  it('is idempotent per attempt id: a repeat answers the first result without collecting again', async () => {
    const id = attemptId();
    const first = succeeded((await pay('sandbox_alipay', 2345, wallet(), id)).result);
    const again = succeeded((await pay('sandbox_alipay', 2345, wallet(), id)).result);
    expect(again).toEqual(first);
    const concurrent = await Promise.all([1, 2, 3].map(() => pay('sandbox_wechat', 777, wallet(), `${id}-w`)));
    const txns = new Set(concurrent.map((c) => succeeded(c.result).channelTxnId));
    expect(txns.size).toBe(1);
    expect((await ch('sandbox_alipay').query(id)).collections).toHaveLength(1);
    expect((await ch('sandbox_wechat').query(`${id}-w`)).collections).toHaveLength(1);
    await advance(1_000);
    expect(paymentNotices(id)).toHaveLength(1);
    expect(paymentNotices(`${id}-w`)).toHaveLength(1);
  });

  it('answers not_found for an attempt it never saw', async () => {
    expect(await ch('sandbox_wechat').query(attemptId())).toEqual({ status: 'not_found', collections: [], credentialToken: null });
  });

  it('declines verification code 000 and the invalid wallet account, collecting nothing', async () => {
    const a = await pay('sandbox_unionpay_b', 10000, card('000', CREDIT), attemptId(), 'credit_card');
    expect(a.result).toMatchObject({ outcome: 'declined', code: 'VERIFICATION_CODE_INVALID', retryable: false });
    expect((await ch('sandbox_unionpay_b').query(a.id)).status).toBe('closed');
    const b = await pay('sandbox_alipay', 10000, wallet('invalid@sandbox'));
    expect(b.result).toMatchObject({ outcome: 'declined', code: 'ACCOUNT_INFO_INVALID', retryable: false });
    const c = await pay('sandbox_wechat', 10000, wallet('invalid@sandbox'));
    expect(c.result).toMatchObject({ outcome: 'declined', code: 'ACCOUNT_INFO_INVALID' });
    expect((await ch('sandbox_wechat').query(c.id)).collections).toEqual([]);
  });

  it('pays with a stored credential on the same provider only', async () => {
    const first = succeeded((await pay('sandbox_unionpay_a', 5000, card())).result);
    const token = first.credentialToken ?? '';
    const again = await pay('sandbox_unionpay_a', 3000, { kind: 'credential', token });
    expect(succeeded(again.result).credentialToken).toBe(token);
    const row = await sdb().selectFrom('sandbox_payments').selectAll().where('attempt_id', '=', again.id).executeTakeFirstOrThrow();
    expect(row.source_masked).toBe('622202******0007');

    const other = await pay('sandbox_unionpay_b', 3000, { kind: 'credential', token });
    expect(other.result).toMatchObject({ outcome: 'declined', code: 'ACCOUNT_INFO_INVALID' });
    const unknown = await pay('sandbox_unionpay_a', 3000, { kind: 'credential', token: 'tok_nope' });
    expect(unknown.result).toMatchObject({ outcome: 'declined', code: 'ACCOUNT_INFO_INVALID' });
    const walletToken = succeeded((await pay('sandbox_alipay', 100, wallet())).result).credentialToken ?? '';
    const onWechat = await pay('sandbox_wechat', 100, { kind: 'credential', token: walletToken });
    expect(onWechat.result).toMatchObject({ outcome: 'declined', code: 'ACCOUNT_INFO_INVALID' });
  });
});

describe('amount triggers', () => {
  it('6601: busy on every provider but sandbox_unionpay_b, which collects', async () => {
    for (const provider of ['sandbox_unionpay_a', 'sandbox_alipay', 'sandbox_wechat']) {
      const id = attemptId();
      const source = provider.includes('unionpay') ? card() : wallet();
      expect((await payFault(provider, 6601, source, id)).kind).toBe('busy');
      expect((await ch(provider).query(id)).status).toBe('not_found');
    }
    const b = await pay('sandbox_unionpay_b', 6601, card());
    succeeded(b.result);
    expect((await ch('sandbox_unionpay_b').query(b.id)).collections).toHaveLength(1);
  });

  it('6611: busy on every provider', async () => {
    for (const provider of channels.keys()) {
      const id = attemptId();
      const fault = await payFault(provider, 6611, provider.includes('unionpay') ? card() : wallet(), id);
      expect(fault.kind).toBe('busy');
      expect((await ch(provider).query(id)).status).toBe('not_found');
    }
  });

  it('6602: times out but collected; query finds it paid; the notification comes 2 minutes later', async () => {
    const id = attemptId();
    expect((await payFault('sandbox_alipay', 6602, wallet(), id)).kind).toBe('timeout');
    const status = await ch('sandbox_alipay').query(id);
    expect(status.status).toBe('paid');
    expect(status.collections).toHaveLength(1);
    await advance(60_000);
    expect(paymentNotices(id)).toHaveLength(0);
    await advance(60_000);
    expect(paymentNotices(id)).toHaveLength(1);
    expect(paymentNotices(id)[0]).toMatchObject({ channelTxnId: status.collections[0]?.channelTxnId, amount: 6602 });
  });

  it('6603: times out with nothing collected; query says closed; no notification', async () => {
    const id = attemptId();
    expect((await payFault('sandbox_unionpay_a', 6603, card(), id)).kind).toBe('timeout');
    expect(await ch('sandbox_unionpay_a').query(id)).toEqual({ status: 'closed', collections: [], credentialToken: null });
    await advance(5 * 60_000);
    expect(paymentNotices(id)).toHaveLength(0);
  });

  it('6604 and 6605: declined INSUFFICIENT_FUNDS and LIMIT_EXCEEDED', async () => {
    const a = await pay('sandbox_wechat', 6604, wallet());
    expect(a.result).toMatchObject({ outcome: 'declined', code: 'INSUFFICIENT_FUNDS', retryable: false });
    const b = await pay('sandbox_unionpay_a', 6605, card());
    expect(b.result).toMatchObject({ outcome: 'declined', code: 'LIMIT_EXCEEDED', retryable: false });
    expect((await ch('sandbox_unionpay_a').query(b.id)).collections).toEqual([]);
  });

  it('6606: collects twice, answers with the first, notifies both', async () => {
    const { id, result } = await pay('sandbox_unionpay_a', 6606, card());
    const ok = succeeded(result);
    const status = await ch('sandbox_unionpay_a').query(id);
    expect(status.collections).toHaveLength(2);
    expect(status.collections.map((c) => c.amount)).toEqual([6606, 6606]);
    expect(status.collections.map((c) => c.channelTxnId)).toContain(ok.channelTxnId);
    await advance(1_000);
    const notices = paymentNotices(id);
    expect(notices).toHaveLength(2);
    expect(new Set(notices.map((n) => (n.event === 'payment.succeeded' ? n.channelTxnId : '')))).toEqual(
      new Set(status.collections.map((c) => c.channelTxnId)),
    );
  });

  it('6607: collects, answers processing, never notifies; query says paid', async () => {
    const { id, result } = await pay('sandbox_alipay', 6607, wallet());
    expect(result.outcome).toBe('processing');
    const status = await ch('sandbox_alipay').query(id);
    expect(status.status).toBe('paid');
    expect(result).toEqual({ outcome: 'processing', channelTxnId: status.collections[0]?.channelTxnId });
    await advance(3 * 3600_000);
    expect(paymentNotices(id)).toHaveLength(0);
  });

  it('6608: the first refund call per refund id is busy, a retry is accepted and settles', async () => {
    const { result } = await pay('sandbox_wechat', 6608, wallet());
    const txn = succeeded(result).channelTxnId;
    const refundId = `rfd_${randomUUID()}`;
    const fault = await ch('sandbox_wechat')
      .refund({ refundId, channelTxnId: txn, amount: 6608 })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(fault).toBeInstanceOf(ChannelFault);
    expect((fault as ChannelFault).kind).toBe('busy');
    expect((await ch('sandbox_wechat').queryRefund(refundId)).status).toBe('not_found');
    const retry = await ch('sandbox_wechat').refund({ refundId, channelTxnId: txn, amount: 6608 });
    expect(retry.outcome).toBe('accepted');
    expect(await ch('sandbox_wechat').refund({ refundId, channelTxnId: txn, amount: 6608 })).toEqual(retry);
    await advance(2 * 60_000);
    expect((await ch('sandbox_wechat').queryRefund(refundId)).status).toBe('succeeded');
    expect(refundNotices(refundId)).toHaveLength(1);
  });

  it('6609: refunds are refused for good (payer account closed)', async () => {
    const { result } = await pay('sandbox_unionpay_b', 6609, card());
    const txn = succeeded(result).channelTxnId;
    const refundId = `rfd_${randomUUID()}`;
    const refused = await ch('sandbox_unionpay_b').refund({ refundId, channelTxnId: txn, amount: 6609 });
    expect(refused).toEqual({ outcome: 'refused', reason: 'payer account closed' });
    expect(await ch('sandbox_unionpay_b').refund({ refundId, channelTxnId: txn, amount: 6609 })).toEqual(refused);
    expect(await ch('sandbox_unionpay_b').queryRefund(refundId)).toMatchObject({ status: 'failed', reason: 'payer account closed' });
  });

  it('6610: declined SYSTEM_BUSY at once, collected and notified 10 minutes later', async () => {
    const { id, result } = await pay('sandbox_unionpay_a', 6610, card());
    expect(result).toMatchObject({ outcome: 'declined', code: 'SYSTEM_BUSY', retryable: true });
    expect(await ch('sandbox_unionpay_a').query(id)).toEqual({ status: 'unpaid', collections: [], credentialToken: null });
    await advance(9 * 60_000);
    expect((await ch('sandbox_unionpay_a').query(id)).status).toBe('unpaid');
    expect(paymentNotices(id)).toHaveLength(0);
    await advance(60_000);
    const status = await ch('sandbox_unionpay_a').query(id);
    expect(status.status).toBe('paid');
    expect(status.collections).toHaveLength(1);
    const notices = paymentNotices(id);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ channelTxnId: status.collections[0]?.channelTxnId, amount: 6610 });
    // The first answer stays what it was.
    expect((await pay('sandbox_unionpay_a', 6610, card(), id)).result).toMatchObject({ outcome: 'declined', code: 'SYSTEM_BUSY' });
  });

  it('6610: a query after the late time collects even when the job has not run yet', async () => {
    const { id } = await pay('sandbox_alipay', 6610, wallet());
    clock.setOffset(clock.offset + 10 * 60_000 + 1);
    const status = await ch('sandbox_alipay').query(id);
    expect(status.status).toBe('paid');
    expect(status.collections).toHaveLength(1);
    await advance(1_000);
    expect((await ch('sandbox_alipay').query(id)).collections).toHaveLength(1);
    expect(paymentNotices(id)).toHaveLength(1);
  });
});

describe('refunds', () => {
  it('wallet refunds settle 2 minutes after the request and notify refund.succeeded', async () => {
    const { result } = await pay('sandbox_alipay', 10000, wallet());
    const txn = succeeded(result).channelTxnId;
    const refundId = `rfd_${randomUUID()}`;
    const accepted = await ch('sandbox_alipay').refund({ refundId, channelTxnId: txn, amount: 4000 });
    if (accepted.outcome !== 'accepted') throw new Error('expected accepted');
    expect(await ch('sandbox_alipay').refund({ refundId, channelTxnId: txn, amount: 4000 })).toEqual(accepted);
    expect(await ch('sandbox_alipay').queryRefund(refundId)).toEqual({
      status: 'processing',
      channelRefundId: accepted.channelRefundId,
      settledAt: null,
      reason: null,
    });
    await advance(60_000);
    expect((await ch('sandbox_alipay').queryRefund(refundId)).status).toBe('processing');
    await advance(60_000);
    const settled = await ch('sandbox_alipay').queryRefund(refundId);
    expect(settled.status).toBe('succeeded');
    expect(settled.settledAt).toBeInstanceOf(Date);
    const notices = refundNotices(refundId);
    expect(notices).toEqual([
      { event: 'refund.succeeded', notifyId: expect.any(String), refundId, channelRefundId: accepted.channelRefundId, amount: 4000 },
    ]);
  });

  it('refuses more than the refundable remainder and unknown transactions', async () => {
    const { result } = await pay('sandbox_wechat', 10000, wallet());
    const txn = succeeded(result).channelTxnId;
    const wechat = ch('sandbox_wechat');
    expect((await wechat.refund({ refundId: `rfd_${randomUUID()}`, channelTxnId: txn, amount: 6000 })).outcome).toBe('accepted');
    const tooMuch = await wechat.refund({ refundId: `rfd_${randomUUID()}`, channelTxnId: txn, amount: 4001 });
    expect(tooMuch.outcome).toBe('refused');
    expect((await wechat.refund({ refundId: `rfd_${randomUUID()}`, channelTxnId: txn, amount: 4000 })).outcome).toBe('accepted');
    expect((await wechat.refund({ refundId: `rfd_${randomUUID()}`, channelTxnId: txn, amount: 1 })).outcome).toBe('refused');
    expect((await wechat.refund({ refundId: `rfd_${randomUUID()}`, channelTxnId: 'WXPnope', amount: 1 })).outcome).toBe('refused');
    // Another provider's transaction is unknown here.
    expect((await ch('sandbox_alipay').refund({ refundId: `rfd_${randomUUID()}`, channelTxnId: txn, amount: 1 })).outcome).toBe('refused');
    expect((await wechat.queryRefund(`rfd_${randomUUID()}`)).status).toBe('not_found');
  });

  it('card refunds settle 20 hours after the request; queryRefund settles lazily without the job', async () => {
    const { result } = await pay('sandbox_unionpay_b', 8000, card());
    const txn = succeeded(result).channelTxnId;
    const refundId = `rfd_${randomUUID()}`;
    expect((await ch('sandbox_unionpay_b').refund({ refundId, channelTxnId: txn, amount: 8000 })).outcome).toBe('accepted');
    await advance(19 * 3600_000);
    expect((await ch('sandbox_unionpay_b').queryRefund(refundId)).status).toBe('processing');
    // Move the clock without running jobs: the query settles it, exactly once.
    clock.setOffset(clock.offset + 3600_000);
    expect((await ch('sandbox_unionpay_b').queryRefund(refundId)).status).toBe('succeeded');
    expect((await ch('sandbox_unionpay_b').queryRefund(refundId)).status).toBe('succeeded');
    await advance(1_000);
    expect(refundNotices(refundId)).toHaveLength(1);
  });
});

describe('notifications', () => {
  it('verify only when signed, unaltered, fresh and for this provider', async () => {
    const { id } = await pay('sandbox_unionpay_a', 1234, card());
    await advance(1_000);
    const delivered = received.find((r) => r.notification?.event === 'payment.succeeded' && r.notification.attemptId === id);
    if (!delivered) throw new Error('no notification received');
    expect(delivered.headers['content-type']).toBe('application/json');
    const body = JSON.parse(delivered.raw) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(
      ['amount', 'attempt_id', 'channel_txn_id', 'currency', 'event', 'notify_id', 'paid_at', 'provider'].sort(),
    );
    expect(body).toMatchObject({
      event: 'payment.succeeded',
      provider: 'sandbox_unionpay_a',
      attempt_id: id,
      amount: 1234,
      currency: 'CNY',
    });
    expect(delivered.headers['x-sandbox-notify-id']).toBe(body.notify_id);
    const timestamp = String(delivered.headers['x-sandbox-timestamp']);
    expect(Math.abs(Number(timestamp) - clock.nowMs() / 1000)).toBeLessThan(30);

    const channel = ch('sandbox_unionpay_a');
    const headers = { ...delivered.headers };
    await expect(channel.verifyNotification(headers, delivered.raw)).resolves.toMatchObject({ attemptId: id, amount: 1234 });

    const tampered = delivered.raw.replace('"amount":1234', '"amount":123400');
    expect(tampered).not.toBe(delivered.raw);
    await expect(channel.verifyNotification(headers, tampered)).rejects.toThrow();
    await expect(channel.verifyNotification({ ...headers, 'x-sandbox-signature': 'a'.repeat(64) }, delivered.raw)).rejects.toThrow();
    await expect(channel.verifyNotification({ ...headers, 'x-sandbox-signature': undefined }, delivered.raw)).rejects.toThrow();
    // Signed with another provider's secret.
    const foreign = signSandboxNotification('sandbox_unionpay_b', timestamp, delivered.raw);
    await expect(channel.verifyNotification({ ...headers, 'x-sandbox-signature': foreign }, delivered.raw)).rejects.toThrow();
    // Correctly signed, but 10 minutes old: a replay.
    const old = String(Math.floor(clock.nowMs() / 1000) - 600);
    const oldSigned = {
      ...headers,
      'x-sandbox-timestamp': old,
      'x-sandbox-signature': signSandboxNotification('sandbox_unionpay_a', old, delivered.raw),
    };
    await expect(channel.verifyNotification(oldSigned, delivered.raw)).rejects.toThrow(/replay/);
    // A notification for one provider is not valid at another's endpoint.
    await expect(ch('sandbox_unionpay_b').verifyNotification(headers, delivered.raw)).rejects.toThrow();
  });

  it('are resent on the schedule until acknowledged', async () => {
    let failuresLeft = 2;
    answer = () => (failuresLeft-- > 0 ? 500 : 200);
    const { id } = await pay('sandbox_wechat', 4321, wallet());
    await advance(1_000);
    const row = () => sdb().selectFrom('sandbox_notifications').selectAll().where('ref', '=', id).executeTakeFirstOrThrow();
    expect(await row()).toMatchObject({ status: 'pending', attempts: 1, last_error: 'HTTP 500' });
    await advance(14_000);
    expect((await row()).attempts).toBe(1);
    await advance(1_000);
    expect((await row()).attempts).toBe(2);
    expect(paymentNotices(id)).toHaveLength(0);
    await advance(15_000);
    expect(await row()).toMatchObject({ status: 'delivered', attempts: 3 });
    const sent = received.filter((r) => r.notification?.event === 'payment.succeeded' && r.notification.attemptId === id);
    expect(sent.map((r) => r.status)).toEqual([500, 500, 200]);
    // The same notify id and body on every try.
    expect(new Set(sent.map((r) => r.raw)).size).toBe(1);
    expect(new Set(sent.map((r) => r.headers['x-sandbox-notify-id'])).size).toBe(1);
    await advance(3600_000);
    expect(paymentNotices(id)).toHaveLength(1);
  });

  it('give up after about 24 hours of resends', async () => {
    const { id } = await pay('sandbox_alipay', 999, wallet());
    answer = (r) => (r.notification?.event === 'payment.succeeded' && r.notification.attemptId === id ? 503 : 200);
    await advance(1_000);
    for (const delay of RESEND_SCHEDULE_MS) await advance(delay);
    const row = await sdb().selectFrom('sandbox_notifications').selectAll().where('ref', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'abandoned', attempts: RESEND_SCHEDULE_MS.length + 1 });
    const total = RESEND_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(23 * 3600_000);
    expect(total).toBeLessThan(26 * 3600_000);
    await advance(24 * 3600_000);
    expect(received.filter((r) => r.notification?.event === 'payment.succeeded' && r.notification.attemptId === id)).toHaveLength(
      RESEND_SCHEDULE_MS.length + 1,
    );
  });

  it('wait for the public URL when it is not known yet', async () => {
    ctx.publicUrl.current = null;
    try {
      const { id } = await pay('sandbox_unionpay_b', 555, card());
      await advance(1_000);
      const row = await sdb().selectFrom('sandbox_notifications').selectAll().where('ref', '=', id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ status: 'pending', attempts: 0 });
      ctx.publicUrl.current = baseUrl;
      await advance(15_000);
      expect(paymentNotices(id)).toHaveLength(1);
    } finally {
      ctx.publicUrl.current = baseUrl;
    }
  });
});

describe('statement', () => {
  it("lists the day's collections and settled refunds (Asia/Shanghai day)", async () => {
    const a = await pay('sandbox_alipay', 1500, wallet());
    const paidA = succeeded(a.result);
    const dup = await pay('sandbox_alipay', 6606, wallet());
    const refundId = `rfd_${randomUUID()}`;
    const accepted = await ch('sandbox_alipay').refund({ refundId, channelTxnId: paidA.channelTxnId, amount: 500 });
    if (accepted.outcome !== 'accepted') throw new Error('expected accepted');
    const pending = await ch('sandbox_alipay').statement(shanghaiDay(clock.now()));
    expect(pending.lines.some((l) => l.merchantRef === refundId)).toBe(false);
    await advance(2 * 60_000);
    const settledAt = (await ch('sandbox_alipay').queryRefund(refundId)).settledAt ?? new Date(0);

    const collections = await ch('sandbox_alipay').query(dup.id);
    const payDay = shanghaiDay(paidA.paidAt);
    const { csv, lines } = await ch('sandbox_alipay').statement(payDay);
    const [header, ...rows] = csv.trim().split('\n');
    expect(header).toBe('type,channel_txn_id,merchant_ref,amount,currency,time');
    expect(rows).toHaveLength(lines.length);
    expect(rows).toContain(`payment,${paidA.channelTxnId},${a.id},1500,CNY,${paidA.paidAt.toISOString()}`);
    for (const c of collections.collections) {
      expect(lines).toContainEqual({ kind: 'payment', channelTxnId: c.channelTxnId, merchantRef: dup.id, amount: 6606, at: c.paidAt });
    }
    const refundDay = await ch('sandbox_alipay').statement(shanghaiDay(settledAt));
    expect(refundDay.lines).toContainEqual({
      kind: 'refund',
      channelTxnId: accepted.channelRefundId,
      merchantRef: refundId,
      amount: 500,
      at: settledAt,
    });
    expect(refundDay.csv).toContain(`refund,${accepted.channelRefundId},${refundId},500,CNY,${settledAt.toISOString()}`);
    // Only this provider's lines, only that day.
    expect(lines.every((l) => l.at.getTime() >= new Date(`${payDay}T00:00:00+08:00`).getTime())).toBe(true);
    const other = await ch('sandbox_wechat').statement(payDay);
    expect(other.lines.some((l) => l.merchantRef === a.id)).toBe(false);
    const yesterday = shanghaiDay(new Date(new Date(`${payDay}T12:00:00+08:00`).getTime() - 86_400_000));
    expect((await ch('sandbox_alipay').statement(yesterday)).lines.some((l) => l.merchantRef === a.id)).toBe(false);
    await expect(ch('sandbox_alipay').statement('2024-02-30')).rejects.toThrow();
  });

  it('is served as CSV to finance at /v1/admin/providers/:provider/statement', async () => {
    const app = await buildHttpApp(ctx, { logger: ctx.log, routes: [sandboxRoutes(ctx)] });
    try {
      const finance = await createStaff(
        ctx,
        { email: `fin-${randomUUID()}@topup.test`, password: 'staff-pass-123', role: 'finance' },
        'test',
      );
      const token = await createSession(store.db, finance.id, clock.now());
      const { result, id } = await pay('sandbox_wechat', 2000, wallet());
      const ok = succeeded(result);
      const day = shanghaiDay(ok.paidAt);
      const res = await app.inject({
        method: 'GET',
        url: `/v1/admin/providers/sandbox_wechat/statement?date=${day}`,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/csv');
      expect(res.body.startsWith('type,channel_txn_id,merchant_ref,amount,currency,time\n')).toBe(true);
      expect(res.body).toContain(`payment,${ok.channelTxnId},${id},2000,CNY,`);

      const unknown = await app.inject({
        method: 'GET',
        url: `/v1/admin/providers/nope/statement?date=${day}`,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toMatchObject({ code: 'NOT_FOUND' });
      for (const bad of ['2024-13-01', '20240101', 'yesterday']) {
        const res400 = await app.inject({
          method: 'GET',
          url: `/v1/admin/providers/sandbox_wechat/statement?date=${bad}`,
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res400.statusCode).toBe(400);
        expect(res400.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
      }
      const anonymous = await app.inject({ method: 'GET', url: `/v1/admin/providers/sandbox_wechat/statement?date=${day}` });
      expect(anonymous.statusCode).toBe(401);
      const agent = await createStaff(
        ctx,
        { email: `cs-${randomUUID()}@topup.test`, password: 'staff-pass-123', role: 'cs_agent' },
        'test',
      );
      const agentToken = await createSession(store.db, agent.id, clock.now());
      const forbidden = await app.inject({
        method: 'GET',
        url: `/v1/admin/providers/sandbox_wechat/statement?date=${day}`,
        headers: { authorization: `Bearer ${agentToken}` },
      });
      expect(forbidden.statusCode).toBe(403);
    } finally {
      await app.close();
    }
    // A production ctx (TOPUP_SANDBOX=0) does not register the route.
    const offCtx: Context = { ...ctx, config: { ...ctx.config, sandbox: false } };
    const offApp = await buildHttpApp(offCtx, { logger: ctx.log, routes: [sandboxRoutes(offCtx)] });
    try {
      const res = await offApp.inject({ method: 'GET', url: '/v1/admin/providers/sandbox_wechat/statement?date=2024-01-01' });
      expect(res.statusCode).toBe(404);
    } finally {
      await offApp.close();
    }
  });
});

describe('random-fault mode', () => {
  it('parses the documented format and refuses nonsense', () => {
    expect(parseSandboxFaults('busy=0.1,timeout=0.05,duplicate=0.05,lost_notify=0.1,late=0.02,refund_fail=0.05,seed=42')).toEqual({
      busy: 0.1,
      timeout: 0.05,
      duplicate: 0.05,
      lostNotify: 0.1,
      late: 0.02,
      refundFail: 0.05,
      seed: 42,
    });
    expect(parseSandboxFaults(null)).toBeNull();
    expect(parseSandboxFaults('')).toBeNull();
    expect(() => parseSandboxFaults('busy=2')).toThrow();
    expect(() => parseSandboxFaults('explode=0.1')).toThrow();
    expect(() => parseSandboxFaults('busy')).toThrow();
    expect(() => parseSandboxFaults('busy=0.6,timeout=0.6')).toThrow();
    expect(() => parseSandboxFaults('seed=abc')).toThrow();
  });

  function faultyChannel(spec: string, provider = 'sandbox_alipay'): PaymentChannel {
    const faulty = createSandboxChannels({ ...ctx, config: { ...ctx.config, sandboxFaults: spec } }).find((c) => c.provider === provider);
    if (!faulty) throw new Error('no channel');
    return faulty;
  }

  async function outcome(channel: PaymentChannel, amount: number): Promise<string> {
    const attempt = attemptId();
    try {
      const result = await channel.pay({
        attemptId: attempt,
        amount,
        currency: 'CNY',
        method: 'alipay',
        source: wallet(),
        description: 'x',
      });
      if (result.outcome === 'declined') return `declined:${result.code}`;
      const status = await channel.query(attempt);
      return `${result.outcome}:${status.collections.length}`;
    } catch (error) {
      if (!(error instanceof ChannelFault)) throw error;
      const status = await channel.query(attempt);
      return `${error.kind}:${status.status}`;
    }
  }

  it('is deterministic for a seed', async () => {
    const spec = 'busy=0.2,timeout=0.2,duplicate=0.2,lost_notify=0.1,late=0.1,seed=7';
    const a = faultyChannel(spec);
    const b = faultyChannel(spec);
    const runA: string[] = [];
    const runB: string[] = [];
    for (let i = 0; i < 30; i++) runA.push(await outcome(a, 1000 + i));
    for (let i = 0; i < 30; i++) runB.push(await outcome(b, 1000 + i));
    expect(runA).toEqual(runB);
    const kinds = new Set(runA.map((o) => o.split(':')[0]));
    expect(kinds.size).toBeGreaterThanOrEqual(4);
    const other = faultyChannel('busy=0.2,timeout=0.2,duplicate=0.2,lost_notify=0.1,late=0.1,seed=8');
    const runC: string[] = [];
    for (let i = 0; i < 30; i++) runC.push(await outcome(other, 1000 + i));
    expect(runC).not.toEqual(runA);
  });

  it('injects each fault like its trigger, and leaves trigger amounts alone', async () => {
    expect(await outcome(faultyChannel('busy=1'), 1000)).toBe('busy:not_found');
    expect(await outcome(faultyChannel('duplicate=1'), 1000)).toBe('succeeded:2');
    expect(await outcome(faultyChannel('lost_notify=1'), 1000)).toBe('processing:1');
    expect(await outcome(faultyChannel('late=1'), 1000)).toBe('declined:SYSTEM_BUSY');
    const timeouts = new Set<string>();
    const timeoutChannel = faultyChannel('timeout=1,seed=3');
    for (let i = 0; i < 12; i++) timeouts.add(await outcome(timeoutChannel, 1000));
    expect(timeouts).toEqual(new Set(['timeout:paid', 'timeout:closed']));
    expect(await outcome(faultyChannel('busy=1'), 6604)).toBe('declined:INSUFFICIENT_FUNDS');
    expect(await outcome(faultyChannel('busy=1'), 6606)).toBe('succeeded:2');

    const refunding = faultyChannel('refund_fail=1');
    const { result } = await pay('sandbox_alipay', 3000, wallet());
    const txn = succeeded(result).channelTxnId;
    const refundId = `rfd_${randomUUID()}`;
    await expect(refunding.refund({ refundId, channelTxnId: txn, amount: 3000 })).rejects.toBeInstanceOf(ChannelFault);
    expect((await refunding.refund({ refundId, channelTxnId: txn, amount: 3000 })).outcome).toBe('accepted');
  });
});

describe('card data', () => {
  it('never stores the verification code or the full card number in any sandbox table or job', async () => {
    await pay('sandbox_unionpay_a', 3456, card(CODE, CREDIT), attemptId(), 'credit_card');
    await pay('sandbox_unionpay_b', 6610, card(CODE, CREDIT), attemptId(), 'credit_card');
    await pay('sandbox_unionpay_a', 6604, card(CODE, CREDIT), attemptId(), 'credit_card');
    await pay('sandbox_unionpay_a', 10, card('000', CREDIT), attemptId(), 'credit_card');
    await advance(11 * 60_000);
    const tables = ['sandbox_payments', 'sandbox_collections', 'sandbox_refunds', 'sandbox_credentials', 'sandbox_notifications'] as const;
    const cells: string[] = [];
    for (const table of tables) {
      const rows = (await sdb().selectFrom(table).selectAll().execute()) as Record<string, unknown>[];
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) for (const value of Object.values(row)) cells.push(String(value));
    }
    const jobs = await store.db.selectFrom('jobs').select(['payload', 'last_error']).execute();
    for (const j of jobs) cells.push(j.payload, String(j.last_error));
    const masked = cells.filter((c) => c.includes('411111******1111'));
    expect(masked.length).toBeGreaterThan(0);
    for (const cell of cells) {
      expect(cell).not.toContain(CREDIT);
      expect(cell).not.toContain(CARD);
      expect(cell).not.toBe(CODE);
      expect(cell).not.toBe('000');
      expect(cell).not.toContain(`"${CODE}"`);
      expect(cell).not.toMatch(/"verification_?code"|cvv|expiry|holder|12\/39/i);
    }
  });
});
