import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { WebhookEndpointsTable } from '../store/schema.js';
import { findOwnEndpoint, newWebhookSecret } from './endpoint.repo.js';

/** After a rotation the old secret keeps signing (a second signature) this long, so receivers can switch over. */
export const SECRET_OVERLAP_MS = 24 * 3600_000;

async function own(ctx: Context, customerId: string, id: string): Promise<WebhookEndpointsTable> {
  const row = await findOwnEndpoint(ctx.store.db, customerId, id);
  if (!row) throw new AppError('NOT_FOUND', 'no such webhook endpoint');
  return row;
}

/** Deletes an endpoint: nothing more is sent to it; pending retries are cancelled when they come due. */
export async function deleteEndpoint(ctx: Context, customerId: string, id: string): Promise<void> {
  const now = ctx.clock.now().toISOString();
  const result = await ctx.store.db
    .updateTable('webhook_endpoints')
    .set({ deleted_at: now, updated_at: now })
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) throw new AppError('NOT_FOUND', 'no such webhook endpoint');
}

/**
 * A new signing secret. For the next 24 hours every delivery carries two signatures (new and
 * old secret, space-separated as Standard Webhooks allows), so the receiver can switch without
 * dropping anything.
 */
export async function rotateSecret(ctx: Context, customerId: string, id: string): Promise<WebhookEndpointsTable> {
  const current = await own(ctx, customerId, id);
  const now = ctx.clock.now();
  const updated = await ctx.store.db
    .updateTable('webhook_endpoints')
    .set({
      secret: newWebhookSecret(),
      previous_secret: current.secret,
      previous_secret_expires_at: new Date(now.getTime() + SECRET_OVERLAP_MS).toISOString(),
      updated_at: now.toISOString(),
    })
    .where('id', '=', id)
    // Guarded on the secret we read: two rotations racing cannot lose the overlap of either.
    .where('secret', '=', current.secret)
    .returningAll()
    .executeTakeFirst();
  if (!updated) throw new AppError('INVALID_STATE', 'the secret was rotated at the same moment; read the endpoint again');
  return updated;
}

/** Switches an endpoint (back) on, e.g. after it was disabled for sustained failure; the failure count restarts. */
export async function enableEndpoint(ctx: Context, customerId: string, id: string): Promise<WebhookEndpointsTable> {
  await own(ctx, customerId, id);
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
