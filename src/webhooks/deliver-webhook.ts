import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import type { Context } from '../context.js';
import { newId } from '../domain/ids.js';
import { emitEvent } from '../events/emit-event.js';
import { RetryLater } from '../jobs/worker.js';
import type { WebhookEndpointsTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { postWebhook } from './post-webhook.js';

/**
 * Seconds between attempts on the service clock: the first retry within a minute, then backing
 * off over about three days (11 attempts in all, the last ~71 hours after the first).
 */
export const WEBHOOK_RETRY_SCHEDULE_S = [30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600, 24 * 3600];
/** An endpoint is disabled when every retry of this many consecutive events failed… */
export const DISABLE_AFTER_FAILED_EVENTS = 5;
/** …or when it has failed without a single success for this long. */
export const DISABLE_AFTER_FAILING_MS = 3 * 86_400_000;

type Outcome = 'succeeded' | 'retry' | 'failed' | 'disabled' | 'cancelled' | 'stale';

/** The Standard Webhooks headers; with a rotation in progress, signed by the new and the old secret. */
export function signatureHeaders(endpoint: WebhookEndpointsTable, deliveryId: string, payload: string, sentAt: Date, now: Date) {
  const signatures = [new Webhook(endpoint.secret).sign(deliveryId, sentAt, payload)];
  if (endpoint.previous_secret && endpoint.previous_secret_expires_at && endpoint.previous_secret_expires_at > now.toISOString()) {
    signatures.push(new Webhook(endpoint.previous_secret).sign(deliveryId, sentAt, payload));
  }
  return {
    'content-type': 'application/json',
    'user-agent': 'Topup-Webhooks/1.0',
    'webhook-id': deliveryId,
    'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}

/**
 * One attempt of one delivery (the `webhook.deliver` job). The `webhook-id` is the delivery id,
 * the same on every retry; `webhook-timestamp` is the real time of this attempt (receivers check
 * it against their own clock), while the retry schedule runs on the service clock. Safe to run
 * twice: the attempt is recorded only if the delivery still stands where this run found it.
 */
export async function deliverWebhook(ctx: Context, deliveryId: string): Promise<void> {
  const db = ctx.store.db;
  const delivery = await db.selectFrom('webhook_deliveries').selectAll().where('id', '=', deliveryId).executeTakeFirst();
  if (!delivery || delivery.status !== 'pending') return;
  const endpoint = await db.selectFrom('webhook_endpoints').selectAll().where('id', '=', delivery.endpoint_id).executeTakeFirst();
  if (!endpoint || endpoint.deleted_at !== null || endpoint.status !== 'enabled') {
    const now = ctx.clock.now().toISOString();
    await db
      .updateTable('webhook_deliveries')
      .set({
        status: 'cancelled',
        next_attempt_at: null,
        last_error: endpoint?.status === 'disabled' ? 'endpoint disabled' : 'endpoint deleted',
        updated_at: now,
      })
      .where('id', '=', deliveryId)
      .where('status', '=', 'pending')
      .execute();
    ctx.metrics.webhookDeliveries.inc({ outcome: 'cancelled' });
    return;
  }

  const n = Number(delivery.attempts) + 1;
  const sentAt = new Date();
  const headers = signatureHeaders(endpoint, delivery.id, delivery.payload, sentAt, ctx.clock.now());
  const started = performance.now();
  const result = await postWebhook(endpoint.url, headers, delivery.payload, { allowPrivate: ctx.config.sandbox });
  const durationMs = Math.round(performance.now() - started);
  const now = ctx.clock.now();
  const nowIso = now.toISOString();
  const retryInS = result.ok ? null : (WEBHOOK_RETRY_SCHEDULE_S[n - 1] ?? null);

  const outcome = await inTransaction(ctx.store, async (trx): Promise<Outcome> => {
    const moved = await trx
      .updateTable('webhook_deliveries')
      .set({
        attempts: n,
        status: result.ok ? 'succeeded' : retryInS !== null ? 'pending' : 'failed',
        next_attempt_at: retryInS !== null ? new Date(now.getTime() + retryInS * 1000).toISOString() : null,
        last_status_code: result.status,
        last_error: result.ok ? null : result.error,
        delivered_at: result.ok ? nowIso : null,
        updated_at: nowIso,
      })
      .where('id', '=', deliveryId)
      .where('status', '=', 'pending')
      // Another run (a lease takeover) recorded this attempt first: ours is not counted twice.
      .where('attempts', '=', n - 1)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) return 'stale';
    await trx
      .insertInto('webhook_attempts')
      .values({
        id: newId('whd', now.getTime()).replace('whd_', 'wha_'),
        delivery_id: deliveryId,
        endpoint_id: endpoint.id,
        n,
        at: nowIso,
        sent_at: sentAt.toISOString(),
        status_code: result.status,
        error: result.ok ? null : result.error,
        duration_ms: durationMs,
      })
      .execute();

    if (result.ok) {
      await trx
        .updateTable('webhook_endpoints')
        .set({ failed_events: 0, failing_since: null, updated_at: nowIso })
        .where('id', '=', endpoint.id)
        .execute();
      return 'succeeded';
    }

    const final = retryInS === null;
    const counted = await trx
      .updateTable('webhook_endpoints')
      .set({
        failed_events: final ? sql<number>`failed_events + 1` : sql<number>`failed_events`,
        failing_since: sql<string>`coalesce(failing_since, ${nowIso})`,
        updated_at: nowIso,
      })
      .where('id', '=', endpoint.id)
      .returningAll()
      .executeTakeFirst();
    if (!counted) return final ? 'failed' : 'retry';
    const failingFor = counted.failing_since ? now.getTime() - Date.parse(counted.failing_since) : 0;
    const reason =
      Number(counted.failed_events) >= DISABLE_AFTER_FAILED_EVENTS
        ? `every retry of ${counted.failed_events} consecutive events failed`
        : failingFor >= DISABLE_AFTER_FAILING_MS
          ? 'deliveries have failed for 3 days without a success'
          : null;
    if (!reason) return final ? 'failed' : 'retry';

    const disabled = await trx
      .updateTable('webhook_endpoints')
      .set({ status: 'disabled', disabled_at: nowIso, disabled_reason: reason, updated_at: nowIso })
      .where('id', '=', endpoint.id)
      .where('status', '=', 'enabled')
      .executeTakeFirst();
    if (!final) {
      await trx
        .updateTable('webhook_deliveries')
        .set({ status: 'cancelled', next_attempt_at: null, updated_at: nowIso })
        .where('id', '=', deliveryId)
        .execute();
    }
    if (Number(disabled.numUpdatedRows) === 1) {
      // Told in the same transaction as the switch-off: exactly once per disable.
      await emitEvent(trx, {
        customerId: endpoint.customer_id,
        type: 'webhook_endpoint.disabled',
        subjectId: endpoint.id,
        data: { endpoint_id: endpoint.id, url: endpoint.url, reason },
        at: now,
      });
    }
    return 'disabled';
  });

  if (outcome === 'stale') return;
  ctx.metrics.webhookDeliveries.inc({ outcome: outcome === 'disabled' ? 'failed' : outcome });
  if (outcome === 'disabled') {
    ctx.metrics.webhookEndpointsDisabled.inc();
    ctx.log.warn({ endpointId: endpoint.id, customerId: endpoint.customer_id }, 'webhook endpoint disabled after sustained failure');
  }
  if (outcome === 'retry' && retryInS !== null)
    throw new RetryLater(retryInS * 1000, `attempt ${n} failed: ${result.ok ? '' : result.error}`);
}
