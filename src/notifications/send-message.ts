import { sql } from 'kysely';
import type { Context } from '../context.js';
import { RetryLater } from '../jobs/worker.js';
import type { NotificationsTable } from '../store/schema.js';
import { writeNow } from '../store/transaction.js';
import { isValidPhone } from './phone.js';
import { templateParams } from './templates.js';
import { DeliveryFault, type MessageTransport, type SendResult } from './transport.js';

/** Seconds before each retry of a transient failure; after the last, the message is `failed`. */
export const MESSAGE_RETRY_SCHEDULE_S = [30, 120, 600, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600];
/**
 * A claim older than this (real time) belongs to a worker that died mid-send (every transport
 * times out well before): the message may be sent again. Until then nobody else sends it.
 */
export const CLAIM_STALE_MS = 10 * 60_000;

export interface Transports {
  email: MessageTransport;
  sms: MessageTransport;
}

async function finish(ctx: Context, claimed: NotificationsTable, changes: Partial<NotificationsTable>): Promise<void> {
  await writeNow(ctx.store, (db) =>
    db
      .updateTable('notifications')
      .set({ ...changes, sending_since: null, updated_at: ctx.clock.now().toISOString() })
      .where('id', '=', claimed.id)
      .where('status', '=', 'sending')
      // Only the claim we hold: a worker whose claim went stale must not overwrite the next one's.
      .where('sending_since', '=', claimed.sending_since ?? '')
      .execute(),
  );
}

/**
 * The `notification.send` job: sends one email or SMS at most once. A worker first claims the
 * message (`pending → sending`, a guarded update); only the claimant calls the provider, and
 * a second run — a duplicate job, a lease takeover, a restart — finds it claimed or done and
 * sends nothing. Transient failures go back to `pending` and are retried with backoff;
 * permanent ones (and the last retry) end `failed`. The one window left is a process dying
 * between the provider accepting and our commit: after `CLAIM_STALE_MS` it is sent again, under
 * the same Message-ID / OutId so the far side can tell.
 */
export async function sendMessage(ctx: Context, transports: Transports, messageId: string): Promise<void> {
  const db = ctx.store.db;
  const message = await db.selectFrom('notifications').selectAll().where('id', '=', messageId).executeTakeFirst();
  if (!message || (message.status !== 'pending' && message.status !== 'sending')) return;
  const transport = message.channel === 'email' ? transports.email : message.channel === 'sms' ? transports.sms : null;
  if (!transport) return;

  const now = ctx.clock.now();
  // A claim is about a process being alive, so it is judged in real time: moving the sandbox
  // clock ahead must not make a send in progress look abandoned.
  const realNow = Date.now();
  const claimed = await writeNow(ctx.store, (db) =>
    db
      .updateTable('notifications')
      .set({
        status: 'sending',
        sending_since: new Date(realNow).toISOString(),
        attempts: sql<number>`attempts + 1`,
        updated_at: now.toISOString(),
      })
      .where('id', '=', messageId)
      .where((eb) =>
        eb.or([
          eb('status', '=', 'pending'),
          eb.and([eb('status', '=', 'sending'), eb('sending_since', '<', new Date(realNow - CLAIM_STALE_MS).toISOString())]),
        ]),
      )
      .returningAll()
      .executeTakeFirst(),
  );
  if (!claimed) {
    const current = await db.selectFrom('notifications').select('status').where('id', '=', messageId).executeTakeFirst();
    // Someone else is sending it right now: look again later, in case they die.
    if (current?.status === 'sending') throw new RetryLater(CLAIM_STALE_MS, 'another worker is sending this message');
    return;
  }

  const labels = { channel: claimed.channel, event: claimed.event };
  let result: SendResult;
  try {
    if (claimed.channel === 'sms' && !isValidPhone(claimed.recipient ?? '')) throw new DeliveryFault('not a valid phone number', true);
    if (!claimed.recipient) throw new DeliveryFault('no recipient', true);
    const event = await db.selectFrom('events').select('data').where('id', '=', claimed.event_id).executeTakeFirst();
    result = await transport.send({
      id: claimed.id,
      event: claimed.event,
      to: claimed.recipient,
      title: claimed.title,
      body: claimed.body,
      params: templateParams(event ? (JSON.parse(event.data) as Record<string, unknown>) : {}),
    });
  } catch (error) {
    const fault = error instanceof DeliveryFault ? error : new DeliveryFault(error instanceof Error ? error.message : String(error), false);
    const attempts = Number(claimed.attempts);
    const retryInS = fault.permanent ? null : (MESSAGE_RETRY_SCHEDULE_S[attempts - 1] ?? null);
    await finish(ctx, claimed, { status: retryInS === null ? 'failed' : 'pending', last_error: fault.message.slice(0, 1000) });
    ctx.metrics.notifications.inc({ ...labels, outcome: retryInS === null ? 'failed' : 'retry' });
    if (retryInS === null) {
      ctx.log.warn({ messageId, channel: claimed.channel, error: fault.message }, 'message could not be delivered');
      return;
    }
    throw new RetryLater(retryInS * 1000, fault.message);
  }
  const at = ctx.clock.now().toISOString();
  await finish(
    ctx,
    claimed,
    result.outcome === 'delivered'
      ? {
          status: 'delivered',
          delivered_at: at,
          provider: result.provider,
          provider_message_id: result.providerMessageId,
          last_error: null,
        }
      : { status: 'kept', provider: result.provider, last_error: null },
  );
  ctx.metrics.notifications.inc({ ...labels, outcome: result.outcome });
}
