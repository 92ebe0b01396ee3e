import { Type } from 'typebox';
import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import { AppError, type Language } from '../domain/errors.js';
import type { App } from '../http/app.js';
import { decodeCursor, pageOf } from '../http/cursor.js';
import { findOwnedOrNotFound } from '../http/owned.js';
import { Amount, Currency, Enum, IdempotencyHeader, ListQuery, Nullable, problems, Strict, Timestamp } from '../http/schemas.js';
import type { RefundsTable } from '../store/schema.js';
import { applyForRefund } from './apply-for-refund.js';
import { cancelRefund, replyToRefund } from './customer-actions.js';
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

export const RefundReasonSchema = Enum(['not_credited', 'duplicate_charge', 'charged_but_failed', 'unused_balance', 'other'] as const);

export const RefundView = Type.Object({
  id: Type.String(),
  recharge_id: Type.String(),
  amount: Type.Integer(),
  currency: Currency,
  reason: RefundReasonSchema,
  status: RefundStatus,
  destination: Type.Union([Type.Literal('original'), Type.Literal('balance')]),
  automatic: Type.Boolean({ description: 'started by the system, without an application' }),
  description: Nullable(Type.String()),
  failure_reason: Nullable(Type.String()),
  rejection_reason: Nullable(Type.String()),
  paid_at: Nullable(Type.String()),
  channel_txn_no: Nullable(Type.String()),
  sla_due_at: Nullable(Timestamp),
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

export function refundRoutes(ctx: Context, router: ChannelRouter) {
  async function renderOne(id: string, language: Language) {
    const row = await ctx.store.db.selectFrom('refunds').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const [view] = await renderRefunds(ctx, [row], language);
    if (!view) throw new AppError('SYSTEM_BUSY', 'the object could not be rendered');
    return view;
  }
  const EvidenceIds = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 10 });

  return (app: App) => {
    app.post(
      '/v1/refunds',
      {
        config: { auth: ['customer'], idempotent: true },
        schema: {
          tags: ['refunds'],
          description:
            'Apply for a refund of a recharge (I). Money the channel collected that never became balance is verified with the channel and returned at once (fast path); other applications wait for customer service.',
          headers: IdempotencyHeader,
          body: Strict({
            recharge_id: Type.String({ minLength: 1, maxLength: 64 }),
            amount: Amount,
            reason: RefundReasonSchema,
            description: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
            paid_at: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
            channel_txn_no: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 128 }))),
            evidence_ids: Type.Optional(EvidenceIds),
          }),
          response: {
            201: RefundView,
            ...problems(
              'REFUND_NOT_ALLOWED',
              'NOT_FOUND',
              'UNAUTHENTICATED',
              'FORBIDDEN',
              'IDEMPOTENCY_KEY_REQUIRED',
              'IDEMPOTENCY_KEY_REUSED',
              'IDEMPOTENCY_KEY_IN_USE',
            ),
          },
        },
      },
      async (request, reply) => {
        const actor = request.actor;
        if (!actor) throw new AppError('UNAUTHENTICATED');
        const b = request.body;
        const row = await applyForRefund(ctx, router, {
          customerId: actor.id,
          rechargeId: b.recharge_id,
          amount: b.amount,
          reason: b.reason,
          description: b.description ?? null,
          paidAt: b.paid_at ? new Date(b.paid_at).toISOString() : null,
          channelTxnNo: b.channel_txn_no ?? null,
          evidenceIds: b.evidence_ids ?? [],
          requestKey: request.idempotency?.key ?? null,
        });
        return reply.code(201).send(await renderOne(row.id, request.language));
      },
    );

    app.post(
      '/v1/refunds/:id/replies',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['refunds'],
          description: 'Answer an information request (info_requested → under_review), optionally with more evidence.',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          body: Strict({ message: Type.String({ minLength: 1, maxLength: 2000 }), evidence_ids: Type.Optional(EvidenceIds) }),
          response: { 200: RefundView, ...problems('NOT_FOUND', 'INVALID_STATE', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const actor = request.actor;
        if (!actor) throw new AppError('UNAUTHENTICATED');
        await replyToRefund(ctx, {
          customerId: actor.id,
          refundId: request.params.id,
          message: request.body.message,
          evidenceIds: request.body.evidence_ids ?? [],
        });
        return renderOne(request.params.id, request.language);
      },
    );

    app.post(
      '/v1/refunds/:id/cancel',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['refunds'],
          description: 'Withdraw an application that is not decided yet.',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 200: RefundView, ...problems('NOT_FOUND', 'INVALID_STATE', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const actor = request.actor;
        if (!actor) throw new AppError('UNAUTHENTICATED');
        await cancelRefund(ctx, { customerId: actor.id, refundId: request.params.id });
        return renderOne(request.params.id, request.language);
      },
    );

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
        const { page, next_cursor } = pageOf(rows, limit, (row) => row.id);
        return {
          data: await renderRefunds(ctx, page, request.language),
          next_cursor,
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
        const row = await findOwnedOrNotFound(ctx.store.db, 'refunds', request.params.id, actor.id, 'refund');
        const [view] = await renderRefunds(ctx, [row], request.language);
        if (!view) throw new AppError('SYSTEM_BUSY', 'the object could not be rendered');
        return view;
      },
    );
  };
}
