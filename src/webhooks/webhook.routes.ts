import { Type } from 'typebox';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import { CONTRACT_EVENTS } from '../events/emit-event.js';
import type { App } from '../http/app.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import { Enum, ListQuery, Nullable, Page, problems, Strict, Timestamp } from '../http/schemas.js';
import type { Actor } from '../identity/roles.js';
import { createEndpoint } from './create-endpoint.js';
import { deleteEndpoint } from './delete-endpoint.js';
import { enableEndpoint } from './enable-endpoint.js';
import { attemptsOf, findOwnEndpoint, listDeliveries, listEndpoints, toDeliveryView, toEndpointView } from './endpoint.repo.js';
import { rotateSecret } from './rotate-secret.js';

const EventName = Enum(CONTRACT_EVENTS);

const Endpoint = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(EventName),
  secret: Type.String({ description: '`whsec_<base64>`: verify `webhook-signature` with it (Standard Webhooks)' }),
  description: Nullable(Type.String()),
  status: Enum(['enabled', 'disabled'] as const, { description: '`disabled` after sustained delivery failure, until enabled again' }),
  disabled_at: Nullable(Timestamp),
  disabled_reason: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const Delivery = Type.Object({
  id: Type.String({ description: 'the `webhook-id` header, the same on every retry' }),
  event_id: Type.String(),
  event: Type.String(),
  status: Enum(['pending', 'succeeded', 'failed', 'cancelled'] as const),
  attempts: Type.Integer(),
  next_attempt_at: Nullable(Timestamp),
  last_status_code: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  created_at: Timestamp,
  delivered_at: Nullable(Timestamp),
  log: Type.Array(
    Type.Object({
      n: Type.Integer(),
      at: Timestamp,
      sent_at: Timestamp,
      status_code: Nullable(Type.Integer()),
      error: Nullable(Type.String()),
      duration_ms: Type.Integer(),
    }),
  ),
});

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

function cursorId(cursor: string | undefined): string | null {
  const position = decodeCursor(cursor);
  return position === null ? null : String(position);
}

function actorOf(request: { actor: Actor | null }): Actor {
  if (!request.actor) throw new AppError('UNAUTHENTICATED');
  return request.actor;
}

export function webhookRoutes(ctx: Context) {
  return (app: App) => {
    app.post(
      '/v1/webhook-endpoints',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['webhooks'],
          description:
            'Registers an endpoint for some of your events. Deliveries follow Standard Webhooks; the URL must be http(s) and, outside the sandbox, reach a public address.',
          body: Strict({
            url: Type.String({ minLength: 1, maxLength: 2048 }),
            events: Type.Array(EventName, { minItems: 1, maxItems: CONTRACT_EVENTS.length, uniqueItems: true }),
            description: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
          }),
          response: { 201: Endpoint, ...problems('UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request, reply) => {
        const row = await createEndpoint(ctx, {
          customerId: actorOf(request).id,
          url: request.body.url,
          events: request.body.events,
          description: request.body.description ?? null,
        });
        return reply.code(201).send(toEndpointView(row));
      },
    );

    app.get(
      '/v1/webhook-endpoints',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['webhooks'],
          querystring: Type.Object(ListQuery, { additionalProperties: false }),
          response: { 200: Page(Endpoint), ...problems('UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? 20;
        const rows = await listEndpoints(ctx.store.db, actorOf(request).id, { beforeId: cursorId(request.query.cursor), limit: limit + 1 });
        const page = rows.slice(0, limit);
        return {
          data: page.map(toEndpointView),
          next_cursor: rows.length > limit ? encodeCursor(page[page.length - 1]?.id ?? '') : null,
        };
      },
    );

    app.get(
      '/v1/webhook-endpoints/:id',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['webhooks'],
          params: IdParams,
          response: { 200: Endpoint, ...problems('NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const row = await findOwnEndpoint(ctx.store.db, actorOf(request).id, request.params.id);
        if (!row) throw new AppError('NOT_FOUND', 'no such webhook endpoint');
        return toEndpointView(row);
      },
    );

    app.delete(
      '/v1/webhook-endpoints/:id',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['webhooks'],
          params: IdParams,
          response: { 204: Type.Null(), ...problems('NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request, reply) => {
        await deleteEndpoint(ctx, actorOf(request).id, request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/webhook-endpoints/:id/rotate-secret',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['webhooks'],
          description: 'A new secret. For 24 hours deliveries carry a second signature made with the old one.',
          params: IdParams,
          response: { 200: Endpoint, ...problems('NOT_FOUND', 'INVALID_STATE', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => toEndpointView(await rotateSecret(ctx, actorOf(request).id, request.params.id)),
    );

    app.post(
      '/v1/webhook-endpoints/:id/enable',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['webhooks'],
          description: 'Switches a disabled endpoint back on. Events from while it was off are not re-sent.',
          params: IdParams,
          response: { 200: Endpoint, ...problems('NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => toEndpointView(await enableEndpoint(ctx, actorOf(request).id, request.params.id)),
    );

    app.get(
      '/v1/webhook-endpoints/:id/deliveries',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['webhooks'],
          description: 'The delivery log of an endpoint, newest first, each delivery with its attempts.',
          params: IdParams,
          querystring: Type.Object(
            { ...ListQuery, status: Type.Optional(Enum(['pending', 'succeeded', 'failed', 'cancelled'] as const)) },
            { additionalProperties: false },
          ),
          response: { 200: Page(Delivery), ...problems('NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const endpoint = await findOwnEndpoint(ctx.store.db, actorOf(request).id, request.params.id);
        if (!endpoint) throw new AppError('NOT_FOUND', 'no such webhook endpoint');
        const limit = request.query.limit ?? 20;
        const rows = await listDeliveries(ctx.store.db, endpoint.id, {
          status: request.query.status,
          beforeId: cursorId(request.query.cursor),
          limit: limit + 1,
        });
        const page = rows.slice(0, limit);
        const attempts = await attemptsOf(
          ctx.store.db,
          page.map((d) => d.id),
        );
        return {
          data: page.map((d) => toDeliveryView(d, attempts.get(d.id) ?? [])),
          next_cursor: rows.length > limit ? encodeCursor(page[page.length - 1]?.id ?? '') : null,
        };
      },
    );
  };
}
