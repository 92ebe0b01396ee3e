import type { Context } from '../context.js';
import type { Worker } from '../jobs/worker.js';
import { deliverWebhook } from './deliver-webhook.js';
import { DELIVER_JOB } from './plan-deliveries.js';

/** Webhook delivery attempts (the first within seconds of the event, retries on the service clock). */
export function registerWebhookJobs(ctx: Context, worker: Worker): void {
  worker.register(DELIVER_JOB, async (payload) => {
    await deliverWebhook(ctx, String(payload.deliveryId));
  });
}
