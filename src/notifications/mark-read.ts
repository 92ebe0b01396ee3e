import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { NotificationsTable } from '../store/schema.js';

/** Marks one of the customer's messages read (the first time only; reading again changes nothing). */
export async function markRead(ctx: Context, customerId: string, id: string): Promise<NotificationsTable> {
  const now = ctx.clock.now().toISOString();
  await ctx.store.db
    .updateTable('notifications')
    .set({ read_at: now })
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('read_at', 'is', null)
    .execute();
  const row = await ctx.store.db
    .selectFrom('notifications')
    .selectAll()
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', 'no such notification');
  return row;
}

/** Marks every unread message of the customer read; answers how many changed. */
export async function markAllRead(ctx: Context, customerId: string): Promise<number> {
  const now = ctx.clock.now().toISOString();
  const result = await ctx.store.db
    .updateTable('notifications')
    .set({ read_at: now })
    .where('customer_id', '=', customerId)
    .where('read_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
