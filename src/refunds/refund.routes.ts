import { Type } from 'typebox';
import type { Context } from '../context.js';
import { AppError, type Language } from '../domain/errors.js';
import type { App } from '../http/app.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import { Currency, ListQuery, Nullable, Timestamp, problems, Enum } from '../http/schemas.js';
import type { RefundsTable } from '../store/schema.js';
import { refundTimeline, toRefundView } from './refund.repo.js';

const RefundStatus = Enum([
  'submitted',
  'under_review',
  'info_requested',
  'approved',
  'rejected',
  'processing',
  'succeeded',
  'failed',
  'cancelled',
] as const);

export const RefundView = Type.Object({
  id: Type.String(),
  recharge_id: Type.String(),
  amount: Type.Integer(),
  currency: Currency,
  reason: Enum(['not_credited', 'duplicate_charge', 'charged_but_failed', 'unused_balance', 'other'] as const),
  status: RefundStatus,
  destination: Type.Union([Type.Literal('original'), Type.Literal('balance')]),
  automatic: Type.Boolean({ description: 'started by the system, without an application' }),
  description: Nullable(Type.String()),
  failure_reason: Nullable(Type.String()),
  fallback: Nullable(Type.String({ description: '`balance` when the original route refused and the money went to the balance' })),
  arrival_estimate: Nullable(Type.String()),
  timeline: Type.Array(Type.Object({ at: Timestamp, status: RefundStatus, actor: Type.String(), note: Nullable(Type.String()) })),
  created_at: Timestamp,
  updated_at: Timestamp,
  succeeded_at: Nullable(Timestamp),
});

export async function renderRefunds(ctx: Context, rows: RefundsTable[], language: Language) {
  const timelines = await refundTimeline(
    ctx.store.db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toRefundView(r, timelines.get(r.id) ?? [], language));
}

export function refundRoutes(ctx: Context) {
  return (app: App) => {
    app.get(
      '/v1/refunds',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['refunds'],
          querystring: Type.Object({ ...ListQuery, status: Type.Optional(RefundStatus) }, { additionalProperties: false }),
          response: {
            200: Type.Object({ data: Type.Array(RefundView), next_cursor: Nullable(Type.String()) }),
            ...problems('UNAUTHENTICATED', 'FORBIDDEN'),
          },
        },
      },
      async (request) => {
        const actor = request.actor;
        if (!actor) throw new AppError('UNAUTHENTICATED');
        const limit = request.query.limit ?? 20;
        const cursor = decodeCursor(request.query.cursor);
        let query = ctx.store.db
          .selectFrom('refunds')
          .selectAll()
          .where('customer_id', '=', actor.id)
          .orderBy('id', 'desc')
          .limit(limit + 1);
        if (request.query.status) query = query.where('status', '=', request.query.status);
        if (cursor !== null) query = query.where('id', '<', String(cursor));
        const rows = await query.execute();
        const page = rows.slice(0, limit);
        return {
          data: await renderRefunds(ctx, page, request.language),
          next_cursor: rows.length > limit ? encodeCursor(page[page.length - 1]?.id ?? '') : null,
        };
      },
    );

    app.get(
      '/v1/refunds/:id',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['refunds'],
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 200: RefundView, ...problems('NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const actor = request.actor;
        if (!actor) throw new AppError('UNAUTHENTICATED');
        const row = await ctx.store.db
          .selectFrom('refunds')
          .selectAll()
          .where('id', '=', request.params.id)
          .where('customer_id', '=', actor.id)
          .executeTakeFirst();
        if (!row) throw new AppError('NOT_FOUND', 'no such refund');
        const [view] = await renderRefunds(ctx, [row], request.language);
        if (!view) throw new AppError('INTERNAL');
        return view;
      },
    );
  };
}
