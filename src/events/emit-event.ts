import { newId } from '../domain/ids.js';
import type { Executor } from '../store/database.js';

/** The events the contract names; each is told to the customer (and their webhooks). */
export type EventType =
  | 'recharge.succeeded'
  | 'recharge.failed'
  | 'refund.submitted'
  | 'refund.info_requested'
  | 'refund.approved'
  | 'refund.rejected'
  | 'refund.succeeded'
  | 'refund.failed'
  | 'balance.low'
  | 'auto_recharge.failed'
  | 'ticket.replied'
  | 'ticket.resolved';

/**
 * Records a domain event in the caller's transaction (the outbox): it exists exactly when the
 * state change that caused it committed. Notification delivery reads from here.
 */
export async function emitEvent(
  trx: Executor,
  event: {
    customerId: string;
    type: EventType;
    subjectId: string;
    data: Record<string, unknown>;
    at: Date;
    /** A stable id makes the emit idempotent (a job that runs twice emits once). */
    id?: string;
  },
): Promise<string> {
  const id = event.id ?? newId('ntf', event.at.getTime());
  await trx
    .insertInto('events')
    .values({
      id,
      customer_id: event.customerId,
      type: event.type,
      subject_id: event.subjectId,
      data: JSON.stringify(event.data),
      created_at: event.at.toISOString(),
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return id;
}
