import { newId } from '../domain/ids.js';
import { enqueueJob } from '../jobs/job-queue.js';
import type { Executor } from '../store/database.js';
import { reusableInsert } from '../store/reusable-query.js';

/** The events the contract names; each is told to the customer (and to their webhooks). */
export const CONTRACT_EVENTS = [
  'recharge.succeeded',
  'recharge.failed',
  'refund.submitted',
  'refund.info_requested',
  'refund.approved',
  'refund.rejected',
  'refund.succeeded',
  'refund.failed',
  'balance.low',
  'auto_recharge.failed',
  'ticket.replied',
  'ticket.resolved',
] as const;

export type ContractEvent = (typeof CONTRACT_EVENTS)[number];

/**
 * Every event type: the contract's, plus the service's own notices to a customer that no webhook
 * carries (`webhook_endpoint.disabled`: their endpoint was switched off after sustained failure).
 */
export type EventType = ContractEvent | 'webhook_endpoint.disabled';

/** The job that turns one event into messages (in-app, email, SMS) and webhook deliveries. */
export const DISPATCH_JOB = 'event.dispatch';

interface NewEvent {
  customerId: string;
  type: EventType;
  subjectId: string;
  data: Record<string, unknown>;
  at: Date;
  /** A stable id makes the emit idempotent (a job that runs twice emits once). */
  id?: string;
}

const insertEvents = reusableInsert('events', {
  onConflictDoNothing: ['id'],
});

async function write(trx: Executor, id: string, event: NewEvent): Promise<void> {
  await insertEvents(trx, [
    {
      id,
      customer_id: event.customerId,
      type: event.type,
      subject_id: event.subjectId,
      data: JSON.stringify(event.data),
      created_at: event.at.toISOString(),
    },
  ]);
  // The dispatch job commits with the event (the outbox): an event is told exactly when the
  // state change that caused it committed. The dedupe key makes a repeated emit a no-op.
  await enqueueJob(trx, { type: DISPATCH_JOB, payload: { eventId: id }, dedupeKey: `event:${id}`, maxAttempts: 20 }, event.at);
}

/**
 * Records a domain event in the caller's transaction (the outbox): it exists exactly when the
 * state change that caused it committed, and so does the job that notifies the customer.
 */
export async function emitEvent(trx: Executor, event: NewEvent): Promise<string> {
  const id = event.id ?? newId('ntf', event.at.getTime());
  // Called outside a transaction, the event and its dispatch job still commit together.
  if (trx.isTransaction) await write(trx, id, event);
  else await trx.transaction().execute((t) => write(t, id, event));
  return id;
}
