import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from '../../context.js';
import { enqueueJob } from '../../jobs/job-queue.js';
import { RetryLater } from '../../jobs/worker.js';
import type { Trx } from '../../store/database.js';
import { writeNow } from '../../store/transaction.js';
import type { ChannelNotification } from '../payment-channel.js';
import type { SandboxTables } from './sandbox.migration.js';

/**
 * The sandbox's asynchronous notifications, built like a real channel's:
 *
 *   POST {publicUrl}/v1/channels/{provider}/notify
 *   content-type: application/json
 *   x-sandbox-notify-id:  the body's notify_id (stable across resends)
 *   x-sandbox-timestamp:  service-clock unix seconds at send time
 *   x-sandbox-signature:  hex HMAC-SHA256 over `${timestamp}.${body}` with the provider's secret
 *
 * Bodies:
 *   {notify_id, event: 'payment.succeeded', provider, attempt_id, channel_txn_id, amount, currency: 'CNY', paid_at}
 *   {notify_id, event: 'refund.succeeded' | 'refund.failed', provider, refund_id, channel_refund_id, amount}
 *
 * Each notification is a row in `sandbox_notifications` and a `sandbox.notify` job. It is resent
 * until a 2xx answer on RESEND_SCHEDULE_MS (≈ 24 h), then abandoned.
 */
export const NOTIFY_JOB = 'sandbox.notify';

/** Delay before the n-th resend (after the n-th failed delivery). 15 resends after the first try, ≈ 24 h in all. */
export const RESEND_SCHEDULE_MS: readonly number[] = [
  15_000,
  15_000,
  30_000,
  3 * 60_000,
  10 * 60_000,
  20 * 60_000,
  30 * 60_000,
  30 * 60_000,
  30 * 60_000,
  3600_000,
  3 * 3600_000,
  3 * 3600_000,
  3 * 3600_000,
  6 * 3600_000,
  6 * 3600_000,
];

/** How far a notification's timestamp may be from our clock before it counts as a replay. */
export const NOTIFY_TOLERANCE_SECONDS = 300;
const SEND_TIMEOUT_MS = 5_000;
const NO_URL_RETRY_MS = 15_000;

/**
 * A provider's notification secret. Derived (not random) so every API and worker process of a
 * deployment agrees without configuration; it guards a sandbox, not real money.
 */
export function sandboxNotifySecret(provider: string): string {
  return createHash('sha256').update(`topup-sandbox-notify-secret:v1:${provider}`).digest('hex');
}

export function signSandboxNotification(provider: string, timestamp: string, body: string): string {
  return createHmac('sha256', sandboxNotifySecret(provider)).update(`${timestamp}.${body}`).digest('hex');
}

export type PaymentNotifyBody = {
  notify_id: string;
  event: 'payment.succeeded';
  provider: string;
  attempt_id: string;
  channel_txn_id: string;
  amount: number;
  currency: 'CNY';
  paid_at: string;
};

export type RefundNotifyBody = {
  notify_id: string;
  event: 'refund.succeeded' | 'refund.failed';
  provider: string;
  refund_id: string;
  channel_refund_id: string;
  amount: number;
};

type NotifyContent = Omit<PaymentNotifyBody, 'notify_id'> | Omit<RefundNotifyBody, 'notify_id'>;

/** Time-ordered (new rows append to the index rather than dirtying a random page of it). */
function newNotifyId(now: Date): string {
  return `sbn_${now.getTime().toString(36).padStart(9, '0')}${randomBytes(12).toString('hex')}`;
}

/** Records a notification and its delivery job in the caller's transaction (it exists iff the event committed). */
export async function createNotification(ctx: Context, trx: Trx, content: NotifyContent, runAt: Date): Promise<string> {
  const now = ctx.clock.now();
  const notifyId = newNotifyId(now);
  const body = JSON.stringify({ notify_id: notifyId, ...content });
  const ref = content.event === 'payment.succeeded' ? content.attempt_id : content.refund_id;
  await trx
    .withTables<SandboxTables>()
    .insertInto('sandbox_notifications')
    .values({
      notify_id: notifyId,
      provider: content.provider,
      event: content.event,
      ref,
      body,
      status: 'pending',
      attempts: 0,
      last_error: null,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      delivered_at: null,
    })
    .execute();
  await enqueueJob(
    trx,
    // The schedule is ours (RESEND_SCHEDULE_MS); the job budget only has to outlast it,
    // including retries while the public URL is not known yet.
    { type: NOTIFY_JOB, payload: { notifyId }, runAt, dedupeKey: `${NOTIFY_JOB}:${notifyId}`, maxAttempts: 1000 },
    now,
  );
  return notifyId;
}

/** The `sandbox.notify` job: one delivery try; RetryLater on the resend schedule until acknowledged. */
export async function deliverNotification(ctx: Context, notifyId: string): Promise<void> {
  const db = ctx.store.db.withTables<SandboxTables>();
  const row = await db.selectFrom('sandbox_notifications').selectAll().where('notify_id', '=', notifyId).executeTakeFirst();
  if (!row || row.status !== 'pending') return;
  const base = ctx.publicUrl.current;
  if (!base) throw new RetryLater(NO_URL_RETRY_MS, 'public URL not known yet');

  const timestamp = String(Math.floor(ctx.clock.nowMs() / 1000));
  const url = `${base.replace(/\/+$/, '')}/v1/channels/${encodeURIComponent(row.provider)}/notify`;
  let acknowledged = false;
  let failure = '';
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-sandbox-notify-id': row.notify_id,
        'x-sandbox-timestamp': timestamp,
        'x-sandbox-signature': signSandboxNotification(row.provider, timestamp, row.body),
      },
      body: row.body,
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    acknowledged = response.ok;
    failure = `HTTP ${response.status}`;
    await response.arrayBuffer().catch(() => undefined);
  } catch (error) {
    failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }

  const attempts = row.attempts + 1;
  const nowIso = ctx.clock.now().toISOString();
  if (acknowledged) {
    await writeNow(ctx.store, (db) =>
      db
        .withTables<SandboxTables>()
        .updateTable('sandbox_notifications')
        .set({ status: 'delivered', attempts, last_error: null, delivered_at: nowIso, updated_at: nowIso })
        .where('notify_id', '=', notifyId)
        .where('status', '=', 'pending')
        .execute(),
    );
    return;
  }
  const delay = RESEND_SCHEDULE_MS[attempts - 1];
  await writeNow(ctx.store, (db) =>
    db
      .withTables<SandboxTables>()
      .updateTable('sandbox_notifications')
      .set({ status: delay === undefined ? 'abandoned' : 'pending', attempts, last_error: failure.slice(0, 500), updated_at: nowIso })
      .where('notify_id', '=', notifyId)
      .where('status', '=', 'pending')
      .execute(),
  );
  if (delay === undefined) {
    ctx.log.warn({ provider: row.provider, notifyId, event: row.event, attempts }, 'sandbox notification abandoned after resends');
    return;
  }
  throw new RetryLater(delay, `notification not acknowledged (${failure})`);
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string {
  const value = headers[name];
  if (typeof value !== 'string' || value === '') throw new Error(`missing or repeated header ${name}`);
  return value;
}

function field(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '' || value.length > 200) throw new Error(`notification field ${name} is not valid`);
  return value;
}

function amountField(body: Record<string, unknown>): number {
  const value = body.amount;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw new Error('notification field amount is not valid');
  return value;
}

/**
 * Checks signature (timing-safe), freshness (replays older or newer than 300 s on the service
 * clock are refused) and shape; throws on anything wrong.
 */
export function verifySandboxNotification(
  ctx: Context,
  provider: string,
  headers: Record<string, string | string[] | undefined>,
  rawBody: string,
): ChannelNotification {
  const timestamp = header(headers, 'x-sandbox-timestamp');
  const signature = header(headers, 'x-sandbox-signature');
  if (!/^\d{1,12}$/.test(timestamp)) throw new Error('timestamp is not valid');
  if (!/^[0-9a-f]{64}$/i.test(signature)) throw new Error('signature is not valid');
  const expected = Buffer.from(signSandboxNotification(provider, timestamp, rawBody), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) throw new Error('signature does not match');
  const age = Math.abs(Math.floor(ctx.clock.nowMs() / 1000) - Number(timestamp));
  if (age > NOTIFY_TOLERANCE_SECONDS) throw new Error(`timestamp is ${age}s away from now (replay?)`);

  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody);
  } catch {
    throw new Error('body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('body is not an object');
  const body = parsed as Record<string, unknown>;
  if (body.provider !== provider) throw new Error('notification is for another provider');
  const notifyId = field(body, 'notify_id');
  const headerId = headers['x-sandbox-notify-id'];
  if (headerId !== undefined && headerId !== notifyId) throw new Error('notify id header does not match the body');

  if (body.event === 'payment.succeeded') {
    if (body.currency !== 'CNY') throw new Error('notification currency is not CNY');
    const paidAt = new Date(field(body, 'paid_at'));
    if (Number.isNaN(paidAt.getTime())) throw new Error('notification field paid_at is not valid');
    return {
      event: 'payment.succeeded',
      notifyId,
      attemptId: field(body, 'attempt_id'),
      channelTxnId: field(body, 'channel_txn_id'),
      amount: amountField(body),
      paidAt,
    };
  }
  if (body.event === 'refund.succeeded' || body.event === 'refund.failed') {
    return {
      event: body.event,
      notifyId,
      refundId: field(body, 'refund_id'),
      channelRefundId: field(body, 'channel_refund_id'),
      amount: amountField(body),
    };
  }
  throw new Error('unknown notification event');
}
