import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { WebhookEndpointsTable } from '../store/schema.js';
import { findOwnEndpointOr404, newWebhookSecret } from './endpoint.repo.js';

/** After a rotation the old secret keeps signing (a second signature) this long, so receivers can switch over. */
export const SECRET_OVERLAP_MS = 24 * 3600_000;

/**
 * A new signing secret. For the next 24 hours every delivery carries two signatures (new and
 * old secret, space-separated as Standard Webhooks allows), so the receiver can switch without
 * dropping anything.
 */
export async function rotateSecret(ctx: Context, customerId: string, id: string): Promise<WebhookEndpointsTable> {
  const current = await findOwnEndpointOr404(ctx.store.db, customerId, id);
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
