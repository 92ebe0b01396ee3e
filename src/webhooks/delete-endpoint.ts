import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';

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
