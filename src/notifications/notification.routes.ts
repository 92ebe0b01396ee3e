import { Type } from 'typebox';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { App } from '../http/app.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import { Enum, ListQuery, Nullable, Page, problems, Strict, Timestamp } from '../http/schemas.js';
import type { Actor } from '../identity/roles.js';
import { markAllRead, markRead } from './mark-read.js';
import { listNotifications, toNotificationView, toOutboxView } from './notification.repo.js';
import { readPreferences } from './preferences.repo.js';
import { ALWAYS_SENT, CHANNELS, EVENT_GROUPS, TEMPLATES } from './templates.js';
import { updatePreferences } from './update-preferences.js';

const ChannelSchema = Enum(CHANNELS);
const MessageStatus = Enum(['pending', 'sending', 'delivered', 'kept', 'failed'] as const, {
  description: '`kept`: no transport configured (no SMTP_URL, the recording SMS provider); kept in the outbox instead of sent',
});

const Notification = Type.Object({
  id: Type.String(),
  event: Type.String({ description: 'the event type, e.g. `recharge.failed`' }),
  event_id: Type.String(),
  subject_id: Type.String({ description: 'the recharge, refund, … the event is about' }),
  channel: ChannelSchema,
  title: Type.String(),
  body: Type.String(),
  status: MessageStatus,
  created_at: Timestamp,
  delivered_at: Nullable(Timestamp),
  read_at: Nullable(Timestamp),
});

const OutboxMessage = Type.Object({
  ...Notification.properties,
  customer_id: Type.String(),
  recipient: Nullable(Type.String()),
  provider: Nullable(Type.String()),
  provider_message_id: Nullable(Type.String()),
  attempts: Type.Integer(),
  last_error: Nullable(Type.String()),
});

const Switches = Type.Object({ email: Type.Boolean(), sms: Type.Boolean() });
const SwitchChanges = Strict({ email: Type.Optional(Type.Boolean()), sms: Type.Optional(Type.Boolean()) });
const Preferences = Type.Object({
  groups: Type.Object({ recharges: Switches, refunds: Switches, balance: Switches, tickets: Switches }),
  always_sent: Type.Array(Type.String(), { description: 'events sent by email and SMS whatever the switches say (refund outcomes)' }),
  updated_at: Nullable(Timestamp),
});

const CONFIGURABLE_ALWAYS_SENT = ALWAYS_SENT.filter((t) => TEMPLATES[t].group !== null);

function actorOf(request: { actor: Actor | null }): Actor {
  if (!request.actor) throw new AppError('UNAUTHENTICATED');
  return request.actor;
}

function preferencesView(read: Awaited<ReturnType<typeof readPreferences>>) {
  return { groups: read.preferences, always_sent: CONFIGURABLE_ALWAYS_SENT, updated_at: read.updatedAt };
}

function beforeId(cursor: string | undefined): string | null {
  const position = decodeCursor(cursor);
  return position === null ? null : String(position);
}

export function notificationRoutes(ctx: Context) {
  return (app: App) => {
    app.get(
      '/v1/notifications',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['notifications'],
          description:
            'What the customer was told, newest first: every event in-app, and by email and SMS where sent. `delivered_at` is null until delivered.',
          querystring: Type.Object(
            { ...ListQuery, channel: Type.Optional(ChannelSchema), unread: Type.Optional(Type.Boolean()) },
            { additionalProperties: false },
          ),
          response: { 200: Page(Notification), ...problems('UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? 20;
        const rows = await listNotifications(ctx.store.db, {
          customerId: actorOf(request).id,
          channel: request.query.channel,
          unread: request.query.unread,
          beforeId: beforeId(request.query.cursor),
          limit: limit + 1,
        });
        const page = rows.slice(0, limit);
        return {
          data: page.map(toNotificationView),
          next_cursor: rows.length > limit ? encodeCursor(page[page.length - 1]?.id ?? '') : null,
        };
      },
    );

    app.post(
      '/v1/notifications/:id/read',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['notifications'],
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 200: Notification, ...problems('NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => toNotificationView(await markRead(ctx, actorOf(request).id, request.params.id)),
    );

    app.post(
      '/v1/notifications/read-all',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['notifications'],
          response: { 200: Type.Object({ updated: Type.Integer() }), ...problems('UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => ({ updated: await markAllRead(ctx, actorOf(request).id) }),
    );

    app.get(
      '/v1/notification-preferences',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['notifications'],
          description: 'Email and SMS on or off per event group; in-app is always on, and refund outcomes are always sent.',
          response: { 200: Preferences, ...problems('UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => preferencesView(await readPreferences(ctx.store.db, actorOf(request).id)),
    );

    app.put(
      '/v1/notification-preferences',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['notifications'],
          description: 'Changes the switches given; groups and channels left out keep their value.',
          body: Strict({
            groups: Strict(
              Object.fromEntries(EVENT_GROUPS.map((g) => [g, Type.Optional(SwitchChanges)])) as Record<
                (typeof EVENT_GROUPS)[number],
                Type.TOptional<typeof SwitchChanges>
              >,
            ),
          }),
          response: { 200: Preferences, ...problems('UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => preferencesView(await updatePreferences(ctx, actorOf(request).id, request.body.groups)),
    );

    app.get(
      '/v1/admin/outbox',
      {
        config: { auth: ['cs_agent'] },
        schema: {
          tags: ['admin'],
          description:
            'Email and SMS as sent or kept (no SMTP_URL, recording SMS provider), newest first, with recipient, provider and last error.',
          querystring: Type.Object(
            {
              ...ListQuery,
              channel: Type.Optional(Enum(['email', 'sms'] as const)),
              status: Type.Optional(MessageStatus),
              customer_id: Type.Optional(Type.String({ maxLength: 64 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Page(OutboxMessage), ...problems('UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? 20;
        const rows = await listNotifications(ctx.store.db, {
          customerId: request.query.customer_id,
          channels: request.query.channel ? [request.query.channel] : ['email', 'sms'],
          status: request.query.status,
          beforeId: beforeId(request.query.cursor),
          limit: limit + 1,
        });
        const page = rows.slice(0, limit);
        return {
          data: page.map(toOutboxView),
          next_cursor: rows.length > limit ? encodeCursor(page[page.length - 1]?.id ?? '') : null,
        };
      },
    );
  };
}
