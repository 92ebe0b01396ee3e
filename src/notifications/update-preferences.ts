import type { Context } from '../context.js';
import { inTransaction } from '../store/transaction.js';
import { type Preferences, readPreferences } from './preferences.repo.js';
import type { EventGroup, OptionalChannel } from './templates.js';

export type PreferenceChanges = Partial<Record<EventGroup, Partial<Record<OptionalChannel, boolean>>>>;

/**
 * Sets a customer's email/SMS choices per event group; groups and channels left out keep their
 * value. Refund outcomes are sent whatever is stored here (the templates mark them `alwaysSent`).
 */
export async function updatePreferences(
  ctx: Context,
  customerId: string,
  changes: PreferenceChanges,
): Promise<{ preferences: Preferences; updatedAt: string | null }> {
  const now = ctx.clock.now().toISOString();
  await inTransaction(ctx.store, async (trx) => {
    for (const [group, channels] of Object.entries(changes)) {
      for (const [channel, enabled] of Object.entries(channels ?? {})) {
        if (typeof enabled !== 'boolean') continue;
        await trx
          .insertInto('notification_preferences')
          .values({ customer_id: customerId, event_group: group, channel, enabled: enabled ? 1 : 0, updated_at: now })
          .onConflict((oc) =>
            oc.columns(['customer_id', 'event_group', 'channel']).doUpdateSet({ enabled: enabled ? 1 : 0, updated_at: now }),
          )
          .execute();
      }
    }
  });
  return readPreferences(ctx.store.db, customerId);
}
