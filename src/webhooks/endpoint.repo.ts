import { randomBytes } from 'node:crypto';
import { AppError } from '../domain/errors.js';
import type { ContractEvent } from '../events/emit-event.js';
import type { Executor } from '../store/database.js';
import type { WebhookAttemptsTable, WebhookDeliveriesTable, WebhookEndpointsTable } from '../store/schema.js';

/** `whsec_` + base64 of 24 random bytes: the Standard Webhooks secret format. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** The customer's own endpoint, or undefined (also for another customer's id, and deleted ones). */
export async function findOwnEndpoint(db: Executor, customerId: string, id: string): Promise<WebhookEndpointsTable | undefined> {
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** The customer's own endpoint, or NOT_FOUND (the same answer for another customer's id). */
export async function findOwnEndpointOr404(db: Executor, customerId: string, id: string): Promise<WebhookEndpointsTable> {
  const row = await findOwnEndpoint(db, customerId, id);
  if (!row) throw new AppError('NOT_FOUND', 'no such webhook endpoint');
  return row;
}

export function subscribedEvents(row: Pick<WebhookEndpointsTable, 'events'>): ContractEvent[] {
  const parsed = JSON.parse(row.events) as unknown;
  return Array.isArray(parsed) ? (parsed.filter((e) => typeof e === 'string') as ContractEvent[]) : [];
}

export function toEndpointView(row: WebhookEndpointsTable) {
  return {
    id: row.id,
    url: row.url,
    events: subscribedEvents(row),
    secret: row.secret,
    description: row.description,
    status: row.status as 'enabled' | 'disabled',
    disabled_at: row.disabled_at,
    disabled_reason: row.disabled_reason,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function toDeliveryView(row: WebhookDeliveriesTable, attempts: WebhookAttemptsTable[]) {
  return {
    id: row.id,
    event_id: row.event_id,
    event: row.event,
    status: row.status as 'pending' | 'succeeded' | 'failed' | 'cancelled',
    attempts: Number(row.attempts),
    next_attempt_at: row.next_attempt_at,
    last_status_code: row.last_status_code === null ? null : Number(row.last_status_code),
    last_error: row.last_error,
    created_at: row.created_at,
    delivered_at: row.delivered_at,
    log: attempts.map((a) => ({
      n: Number(a.n),
      at: a.at,
      sent_at: a.sent_at,
      status_code: a.status_code === null ? null : Number(a.status_code),
      error: a.error,
      duration_ms: Number(a.duration_ms),
    })),
  };
}

export async function attemptsOf(db: Executor, deliveryIds: string[]): Promise<Map<string, WebhookAttemptsTable[]>> {
  const out = new Map<string, WebhookAttemptsTable[]>();
  if (deliveryIds.length === 0) return out;
  const rows = await db.selectFrom('webhook_attempts').selectAll().where('delivery_id', 'in', deliveryIds).orderBy('id').execute();
  for (const r of rows) out.set(r.delivery_id, [...(out.get(r.delivery_id) ?? []), r]);
  return out;
}

/** The customer's endpoints, newest first, paged by id. */
export async function listEndpoints(db: Executor, customerId: string, page: { beforeId: string | null; limit: number }) {
  let query = db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('customer_id', '=', customerId)
    .where('deleted_at', 'is', null)
    .orderBy('id', 'desc')
    .limit(page.limit);
  if (page.beforeId !== null) query = query.where('id', '<', page.beforeId);
  return query.execute();
}

/** An endpoint's deliveries, newest first, paged by id. */
export async function listDeliveries(db: Executor, endpointId: string, page: { status?: string; beforeId: string | null; limit: number }) {
  let query = db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', endpointId).orderBy('id', 'desc').limit(page.limit);
  if (page.status) query = query.where('status', '=', page.status);
  if (page.beforeId !== null) query = query.where('id', '<', page.beforeId);
  return query.execute();
}
