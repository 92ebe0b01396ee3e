import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import { newId } from '../domain/ids.js';
import { enqueueJob } from '../jobs/job-queue.js';
import { inTransaction } from '../store/transaction.js';
import { insertDeliveries, planDeliveries } from '../webhooks/plan-deliveries.js';
import { allows, readPreferences } from './preferences.repo.js';
import { type Channel, isKnownEvent, languageOf, render, TEMPLATES } from './templates.js';

export const SEND_JOB = 'notification.send';

/**
 * The `event.dispatch` job: turns one event into the customer's messages — in-app always, email
 * when their preferences allow, SMS for the events that warrant one when a phone is on file —
 * and into deliveries for their webhook endpoints. Text is rendered now, in the customer's
 * language. Each (event, channel) is written once (a unique key), so running this twice after a
 * crash or a lease takeover adds nothing; email and SMS go out through their own jobs.
 */
export async function dispatchEvent(ctx: Context, router: ChannelRouter, eventId: string): Promise<void> {
  const db = ctx.store.db;
  const event = await db.selectFrom('events').selectAll().where('id', '=', eventId).executeTakeFirst();
  if (!event) return;
  if (!isKnownEvent(event.type)) {
    ctx.log.warn({ eventId, type: event.type }, 'event without a template: not told');
    return;
  }
  const user = await db
    .selectFrom('users')
    .select(['id', 'email', 'phone', 'locale'])
    .where('id', '=', event.customer_id)
    .executeTakeFirst();
  if (!user) return;
  const type = event.type;
  const template = TEMPLATES[type];
  const data = JSON.parse(event.data) as Record<string, unknown>;
  const language = languageOf(user.locale);
  const { title, body } = render(type, data, language);
  const { preferences } = await readPreferences(db, user.id);

  const messages: { channel: Channel; recipient: string | null }[] = [{ channel: 'in_app', recipient: null }];
  if (user.email && allows(preferences, template, 'email')) messages.push({ channel: 'email', recipient: user.email });
  if (template.sms && user.phone && allows(preferences, template, 'sms')) messages.push({ channel: 'sms', recipient: user.phone });
  const deliveries = await planDeliveries(ctx, router, event, language);

  const now = ctx.clock.now();
  const nowIso = now.toISOString();
  const written = await inTransaction(ctx.store, async (trx) => {
    const created: Channel[] = [];
    for (const m of messages) {
      const id = newId('msg', now.getTime());
      const inApp = m.channel === 'in_app';
      const result = await trx
        .insertInto('notifications')
        .values({
          id,
          event_id: event.id,
          customer_id: event.customer_id,
          event: type,
          subject_id: event.subject_id,
          channel: m.channel,
          recipient: m.recipient,
          locale: language,
          title,
          body,
          // In-app messages are delivered by being written.
          status: inApp ? 'delivered' : 'pending',
          provider: inApp ? 'in_app' : null,
          provider_message_id: null,
          attempts: inApp ? 1 : 0,
          last_error: null,
          sending_since: null,
          created_at: nowIso,
          updated_at: nowIso,
          delivered_at: inApp ? nowIso : null,
          read_at: null,
        })
        .onConflict((oc) => oc.columns(['event_id', 'channel']).doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) continue;
      created.push(m.channel);
      if (!inApp) await enqueueJob(trx, { type: SEND_JOB, payload: { messageId: id }, dedupeKey: `message:${id}`, maxAttempts: 30 }, now);
    }
    await insertDeliveries(trx, event, deliveries, now);
    return created;
  });
  if (written.includes('in_app')) ctx.metrics.notifications.inc({ channel: 'in_app', event: type, outcome: 'delivered' });
}
