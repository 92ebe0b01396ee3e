import type { Executor } from '../store/database.js';
import type { NotificationsTable } from '../store/schema.js';
import type { Channel } from './templates.js';

export type MessageStatus = 'pending' | 'sending' | 'delivered' | 'kept' | 'failed';

/** What the customer sees: what they were told, by which channel, and when it was delivered. */
export function toNotificationView(row: NotificationsTable) {
  return {
    id: row.id,
    event: row.event,
    event_id: row.event_id,
    subject_id: row.subject_id,
    channel: row.channel as Channel,
    title: row.title,
    body: row.body,
    status: row.status as MessageStatus,
    created_at: row.created_at,
    delivered_at: row.delivered_at,
    read_at: row.read_at,
  };
}

/** Staff's outbox view adds where it went, through which provider, and why it failed. */
export function toOutboxView(row: NotificationsTable) {
  return {
    ...toNotificationView(row),
    customer_id: row.customer_id,
    recipient: row.recipient,
    provider: row.provider,
    provider_message_id: row.provider_message_id,
    attempts: Number(row.attempts),
    last_error: row.last_error,
  };
}

export interface ListFilter {
  customerId?: string;
  channel?: Channel;
  /** Only these channels (the outbox: email and SMS). */
  channels?: Channel[];
  status?: string;
  unread?: boolean;
  beforeId: string | null;
  limit: number;
}

/** Newest first, paged by id (ids sort by creation). */
export async function listNotifications(db: Executor, filter: ListFilter): Promise<NotificationsTable[]> {
  let query = db.selectFrom('notifications').selectAll().orderBy('id', 'desc').limit(filter.limit);
  if (filter.customerId) query = query.where('customer_id', '=', filter.customerId);
  if (filter.channel) query = query.where('channel', '=', filter.channel);
  if (filter.channels) query = query.where('channel', 'in', filter.channels);
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.unread) query = query.where('read_at', 'is', null);
  if (filter.beforeId !== null) query = query.where('id', '<', filter.beforeId);
  return query.execute();
}
