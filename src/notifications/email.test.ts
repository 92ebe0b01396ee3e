import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, recharge } from '../../test/support/recharge-helpers.js';
import { type SmtpSink, startSmtpSink } from '../../test/support/smtp-sink.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';
import { enqueueJob } from '../jobs/job-queue.js';
import { RetryLater } from '../jobs/worker.js';
import type { NotificationsTable } from '../store/schema.js';
import { createMailTransport } from './email.js';
import { sendMessage } from './send-message.js';
import { RecordingSmsTransport } from './sms.js';

let smtp: SmtpSink;
let server: TestServer;
beforeAll(async () => {
  smtp = await startSmtpSink();
  server = await startTestServer({ env: { SMTP_URL: smtp.url, TOPUP_RECHARGE_RATE_PER_MIN: '1000' } });
});
afterAll(async () => {
  await server?.close();
  await smtp?.close();
});

async function register(locale?: 'zh-CN' | 'en') {
  const email = `m-${randomUUID()}@example.com`;
  const res = await server.http.post('/v1/auth/register', { email, password: 'customer-pass-1', ...(locale ? { locale } : {}) });
  expect(res.status, res.text).toBe(201);
  return { id: res.body.user.id as string, token: res.body.token as string, email };
}

async function emailOf(customerId: string, event: string): Promise<NotificationsTable | undefined> {
  return server.service.ctx.store.db
    .selectFrom('notifications')
    .selectAll()
    .where('customer_id', '=', customerId)
    .where('event', '=', event)
    .where('channel', '=', 'email')
    .executeTakeFirst();
}

const arrivedFor = (address: string) => smtp.received.filter((m) => m.to.includes(address));

describe('email over SMTP (a real SMTP server on loopback)', () => {
  it('arrives in the customer’s language with ¥ amounts; the message row records delivery', async () => {
    const en = await register('en');
    const zh = await register();
    await recharge(server.http, en.token, 10_000, 'alipay');
    await recharge(server.http, zh.token, 10_000, 'alipay');
    const [english] = await eventually(
      async () => arrivedFor(en.email),
      (list) => list.length === 1,
    );
    expect(english?.subject).toBe('Recharge of ¥100.00 succeeded');
    expect(english?.text).toContain('Your recharge of ¥100.00 by Alipay has been credited to your Topup balance');
    expect(english?.from).toBe('no-reply@topup.local');
    const [chinese] = await eventually(
      async () => arrivedFor(zh.email),
      (list) => list.length === 1,
    );
    expect(chinese?.subject).toBe('充值成功:¥100.00已到账');
    expect(chinese?.text).toContain('您通过支付宝充值的 ¥100.00 已到账充值账户余额');

    const row = await eventually(
      () => emailOf(en.id, 'recharge.succeeded'),
      (r) => r?.status === 'delivered',
    );
    expect(row).toMatchObject({ provider: 'smtp', attempts: 1, last_error: null, recipient: en.email });
    expect(row?.delivered_at).toEqual(expect.any(String));
    // The stable message id travels as the Message-ID.
    expect(english?.messageId).toBe(`<${row?.id}@topup>`);
    const listed = await server.http.get('/v1/notifications?channel=email', { token: en.token });
    expect(listed.body.data[0]).toMatchObject({
      id: row?.id,
      status: 'delivered',
      delivered_at: row?.delivered_at,
      title: english?.subject,
    });
  });

  it('a duplicate send job, a re-run dispatch and a second worker racing the first send nothing twice', async () => {
    const c = await register('en');
    smtp.delay(c.email, 1_500);
    await recharge(server.http, c.token, 6604, 'alipay');
    const ctx = server.service.ctx;
    // While the first worker is inside the (slow) SMTP conversation, a second worker — one that
    // took the job over after a lease expiry — runs the same send: it must not send.
    const claimed = await eventually(
      () => emailOf(c.id, 'recharge.failed'),
      (r) => r?.status === 'sending',
    );
    const secondWorker = { email: createMailTransport(ctx.config), sms: new RecordingSmsTransport() };
    const raced = await sendMessage(ctx, secondWorker, claimed?.id ?? '').catch((error: unknown) => error);
    expect(raced).toBeInstanceOf(RetryLater);
    const delivered = await eventually(
      () => emailOf(c.id, 'recharge.failed'),
      (r) => r?.status === 'delivered',
    );
    expect(arrivedFor(c.email)).toHaveLength(1);
    expect(delivered?.attempts).toBe(1);

    // A restarted worker re-running every job of this event: dispatch again, send again (twice).
    const [event] = await ctx.store.db.selectFrom('events').selectAll().where('customer_id', '=', c.id).execute();
    await enqueueJob(ctx.store.db, { type: 'event.dispatch', payload: { eventId: event?.id } }, ctx.clock.now());
    await enqueueJob(ctx.store.db, { type: 'notification.send', payload: { messageId: delivered?.id } }, ctx.clock.now());
    await enqueueJob(ctx.store.db, { type: 'notification.send', payload: { messageId: delivered?.id } }, ctx.clock.now());
    await server.service.worker.runAllDue();
    await sendMessage(ctx, secondWorker, delivered?.id ?? '');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(arrivedFor(c.email)).toHaveLength(1);
    expect(await emailOf(c.id, 'recharge.failed')).toMatchObject({ status: 'delivered', attempts: 1 });
    secondWorker.email.close();
  });

  it('takes over a claim abandoned by a dead worker after 10 minutes of real time — moving the service clock is not enough', async () => {
    const c = await register('en');
    smtp.reject(c.email, 451, 1);
    await recharge(server.http, c.token, 10_000, 'alipay');
    const waiting = await eventually(
      () => emailOf(c.id, 'recharge.succeeded'),
      (r) => r?.status === 'pending' && r.attempts === 1,
    );
    const ctx = server.service.ctx;
    const worker = { email: createMailTransport(ctx.config), sms: new RecordingSmsTransport() };
    // A worker claimed it a moment ago (real time) and is presumably still sending.
    await ctx.store.db
      .updateTable('notifications')
      .set({ status: 'sending', sending_since: new Date().toISOString() })
      .where('id', '=', waiting?.id ?? '')
      .execute();
    await server.advance(86_400);
    expect(await sendMessage(ctx, worker, waiting?.id ?? '').catch((error: unknown) => error)).toBeInstanceOf(RetryLater);
    expect(arrivedFor(c.email)).toHaveLength(0);
    // Its claim is 11 minutes old: that worker is gone, and the message is sent.
    await ctx.store.db
      .updateTable('notifications')
      .set({ sending_since: new Date(Date.now() - 11 * 60_000).toISOString() })
      .where('id', '=', waiting?.id ?? '')
      .execute();
    await sendMessage(ctx, worker, waiting?.id ?? '');
    expect(arrivedFor(c.email)).toHaveLength(1);
    expect(await emailOf(c.id, 'recharge.succeeded')).toMatchObject({ status: 'delivered', attempts: 2 });
    worker.email.close();
  });

  it('retries a transient SMTP refusal (451) with backoff on the service clock; a permanent one (550) fails without retry', async () => {
    const transient = await register('en');
    smtp.reject(transient.email, 451, 1);
    await recharge(server.http, transient.token, 10_000, 'alipay');
    const waiting = await eventually(
      () => emailOf(transient.id, 'recharge.succeeded'),
      (r) => r?.status === 'pending' && r.attempts === 1,
    );
    expect(waiting?.last_error).toContain('451');
    expect(arrivedFor(transient.email)).toHaveLength(0);
    await server.advance(31); // the first retry is 30 s later
    const retried = await eventually(
      () => emailOf(transient.id, 'recharge.succeeded'),
      (r) => r?.status === 'delivered',
    );
    expect(retried).toMatchObject({ attempts: 2, last_error: null });
    expect(arrivedFor(transient.email)).toHaveLength(1);

    const permanent = await register();
    smtp.reject(permanent.email, 550, 10);
    await recharge(server.http, permanent.token, 10_000, 'alipay');
    const failed = await eventually(
      () => emailOf(permanent.id, 'recharge.succeeded'),
      (r) => r?.status === 'failed',
    );
    expect(failed).toMatchObject({ attempts: 1, delivered_at: null });
    expect(failed?.last_error).toContain('550');
    await server.advance(3600);
    expect(await emailOf(permanent.id, 'recharge.succeeded')).toMatchObject({ status: 'failed', attempts: 1 });
    expect(arrivedFor(permanent.email)).toHaveLength(0);
  });
});
