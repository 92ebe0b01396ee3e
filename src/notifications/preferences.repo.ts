import type { Executor } from '../store/database.js';
import { EVENT_GROUPS, type EventGroup, OPTIONAL_CHANNELS, type OptionalChannel, type Template } from './templates.js';

export type Preferences = Record<EventGroup, Record<OptionalChannel, boolean>>;

/** Everything on: a customer who never chose hears about everything on every channel they have. */
export function defaultPreferences(): Preferences {
  const out = {} as Preferences;
  for (const group of EVENT_GROUPS) out[group] = { email: true, sms: true };
  return out;
}

export async function readPreferences(db: Executor, customerId: string): Promise<{ preferences: Preferences; updatedAt: string | null }> {
  const rows = await db.selectFrom('notification_preferences').selectAll().where('customer_id', '=', customerId).execute();
  const preferences = defaultPreferences();
  let updatedAt: string | null = null;
  for (const row of rows) {
    const group = row.event_group as EventGroup;
    const channel = row.channel as OptionalChannel;
    if (!EVENT_GROUPS.includes(group) || !OPTIONAL_CHANNELS.includes(channel)) continue;
    preferences[group][channel] = row.enabled === 1;
    if (!updatedAt || row.updated_at > updatedAt) updatedAt = row.updated_at;
  }
  return { preferences, updatedAt };
}

/** Whether an event goes by `channel` under these preferences (refund outcomes always do). */
export function allows(preferences: Preferences, template: Template, channel: OptionalChannel): boolean {
  if (template.alwaysSent || template.group === null) return true;
  return preferences[template.group][channel];
}
