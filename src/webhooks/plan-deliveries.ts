import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import type { Language } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { CONTRACT_EVENTS } from '../events/emit-event.js';
import { enqueueJob } from '../jobs/job-queue.js';
import type { Trx } from '../store/database.js';
import type { EventsTable } from '../store/schema.js';
import { subscribedEvents } from './endpoint.repo.js';
import { webhookObject } from './webhook-object.js';

export const DELIVER_JOB = 'webhook.deliver';

export interface PlannedDelivery {
  endpointId: string;
  payload: string;
}

/**
 * Which of the customer's endpoints get this event, and the body they get: `{type, timestamp,
 * data}`, rendered once so every retry sends (and signs) the same bytes. Endpoints created after
 * the event, disabled or deleted ones get nothing.
 */
export async function planDeliveries(
  ctx: Context,
  router: ChannelRouter,
  event: EventsTable,
  language: Language,
): Promise<PlannedDelivery[]> {
  if (!(CONTRACT_EVENTS as readonly string[]).includes(event.type)) return [];
  const endpoints = await ctx.store.db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('customer_id', '=', event.customer_id)
    .where('status', '=', 'enabled')
    .where('deleted_at', 'is', null)
    .where('created_at', '<=', event.created_at)
    .execute();
  const targets = endpoints.filter((e) => (subscribedEvents(e) as string[]).includes(event.type));
  if (targets.length === 0) return [];
  const data = await webhookObject(ctx, router, event, language);
  const payload = JSON.stringify({ type: event.type, timestamp: event.created_at, data });
  return targets.map((e) => ({ endpointId: e.id, payload }));
}

/** Writes the deliveries and their first-attempt jobs in the dispatcher's transaction; a repeat adds nothing. */
export async function insertDeliveries(trx: Trx, event: EventsTable, planned: PlannedDelivery[], now: Date): Promise<number> {
  let created = 0;
  for (const p of planned) {
    const id = newId('whd', now.getTime());
    const result = await trx
      .insertInto('webhook_deliveries')
      .values({
        id,
        endpoint_id: p.endpointId,
        customer_id: event.customer_id,
        event_id: event.id,
        event: event.type,
        payload: p.payload,
        status: 'pending',
        attempts: 0,
        next_attempt_at: now.toISOString(),
        last_status_code: null,
        last_error: null,
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
        delivered_at: null,
      })
      .onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) continue;
    created++;
    await enqueueJob(trx, { type: DELIVER_JOB, payload: { deliveryId: id }, dedupeKey: `webhook:${id}`, maxAttempts: 40 }, now);
  }
  return created;
}
