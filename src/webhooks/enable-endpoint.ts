import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { WebhookEndpointsTable } from '../store/schema.js';
import { findOwnEndpointOr404 } from './endpoint.repo.js';

/** Switches an endpoint (back) on, e.g. after it was disabled for sustained failure; the failure count restarts. */
export async function enableEndpoint(ctx: Context, customerId: string, id: string): Promise<WebhookEndpointsTable> {
  await findOwnEndpointOr404(ctx.store.db, customerId, id);
  const now = ctx.clock.now().toISOString();
  const updated = await ctx.store.db
    .updateTable('webhook_endpoints')
    .set({ status: 'enabled', disabled_at: null, disabled_reason: null, failed_events: 0, failing_since: null, updated_at: now })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!updated) throw new AppError('NOT_FOUND', 'no such webhook endpoint');
  return updated;
}
