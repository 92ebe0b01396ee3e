import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import { DISPATCH_JOB } from '../events/emit-event.js';
import type { Worker } from '../jobs/worker.js';
import { dispatchEvent, SEND_JOB } from './dispatch-event.js';
import { sendMessage, type Transports } from './send-message.js';

/** Event dispatch (every emitted event) and email/SMS sending. */
export function registerNotificationJobs(ctx: Context, worker: Worker, router: ChannelRouter, transports: Transports): void {
  worker.register(DISPATCH_JOB, async (payload) => {
    await dispatchEvent(ctx, router, String(payload.eventId));
  });
  worker.register(SEND_JOB, async (payload) => {
    await sendMessage(ctx, transports, String(payload.messageId));
  });
}
