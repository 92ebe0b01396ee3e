import { Type } from 'typebox';
import { PAYMENT_METHODS } from '../channels/payment-channel.js';
import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import { AppError, ERROR_CODES, type Language } from '../domain/errors.js';
import type { App } from '../http/app.js';
import { decodeCursor, pageOf } from '../http/cursor.js';
import { findOwnedOrNotFound } from '../http/owned.js';
import { Amount, Currency, Enum, IdempotencyHeader, ListQuery, Nullable, problems, Strict, Timestamp } from '../http/schemas.js';
import { RefundView, renderRefunds } from '../refunds/refund.routes.js';
import type { RechargesTable } from '../store/schema.js';
import { createRecharge } from './create-recharge.js';
import { attemptsOf, refundedAmounts, refundsOf, toAttemptView, toRechargeView } from './recharge.repo.js';

const Method = Enum(PAYMENT_METHODS);
const Status = Enum(['pending', 'succeeded', 'failed', 'closed'] as const);

export const Failure = Type.Object({
  code: Enum(ERROR_CODES),
  message: Type.String({ description: 'customer text with the next step, in the Accept-Language language' }),
  retryable: Type.Boolean(),
  alternatives: Type.Array(Method, { description: 'payment methods operational now, when switching would help' }),
});

export const RechargeView = Type.Object({
  id: Type.String(),
  status: Status,
  amount: Type.Integer(),
  currency: Currency,
  method: Method,
  provider: Nullable(Type.String()),
  failure: Nullable(Failure),
  payment_method: Type.Object({ masked: Type.String() }),
  auto_recharge: Type.Boolean(),
  created_at: Timestamp,
  succeeded_at: Nullable(Timestamp),
  expires_at: Timestamp,
  refunded_amount: Type.Integer({ description: 'sum of succeeded refunds of this recharge' }),
});

const Attempt = Type.Object({
  id: Type.String(),
  provider: Type.String(),
  status: Enum(['processing', 'succeeded', 'failed', 'unknown'] as const),
  channel_txn_id: Nullable(Type.String()),
  failure_code: Nullable(Type.String()),
  created_at: Timestamp,
  resolved_at: Nullable(Timestamp),
});

const RechargeDetail = Type.Object({ ...RechargeView.properties, attempts: Type.Array(Attempt), refunds: Type.Array(RefundView) });

const Card = Strict({
  card_number: Type.String({ minLength: 1, maxLength: 40 }),
  expiry: Type.String({ minLength: 1, maxLength: 10, description: 'MM/YY' }),
  verification_code: Type.String({ minLength: 1, maxLength: 8 }),
  holder_name: Type.String({ minLength: 1, maxLength: 100 }),
});
const Wallet = Strict({ payer_account: Type.String({ minLength: 1, maxLength: 100 }) });

/** `YYYY-MM-DD` (a calendar day in Asia/Shanghai) or an RFC 3339 time. */
const DayOrTime = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2}))?$',
  description: 'YYYY-MM-DD (Asia/Shanghai day) or RFC 3339 date-time',
});

/** A day means all of it: `from` starts at its first instant, `to` ends after its last (Shanghai time). */
function boundary(value: string, side: 'start' | 'end'): string {
  const time = Date.parse(value.length === 10 ? `${value}T00:00:00+08:00` : value);
  if (Number.isNaN(time)) {
    throw new AppError('VALIDATION_FAILED', 'from/to must be a date or a date-time', {
      errors: [{ field: side === 'start' ? 'from' : 'to', message: 'is not a valid date' }],
    });
  }
  return new Date(value.length === 10 && side === 'end' ? time + 86_400_000 : time).toISOString();
}

export async function renderRecharges(ctx: Context, router: ChannelRouter, rows: RechargesTable[], language: Language) {
  const refunded = await refundedAmounts(
    ctx.store.db,
    rows.map((r) => r.id),
  );
  const needsAlternatives = rows.some((r) => r.failure_code);
  const alternatives = needsAlternatives ? await router.operationalMethods() : [];
  return rows.map((r) => toRechargeView(r, refunded.get(r.id) ?? 0, { language, alternatives }));
}

export function rechargeRoutes(ctx: Context, router: ChannelRouter) {
  return (app: App) => {
    app.post(
      '/v1/recharges',
      {
        config: { auth: ['customer'], idempotent: true },
        schema: {
          tags: ['recharges'],
          description:
            'Top up the balance through a payment channel. (I) Refusals before any channel call answer a problem and create nothing; channel declines answer 201 with a failed order.',
          headers: IdempotencyHeader,
          body: Strict({
            amount: Amount,
            currency: Currency,
            method: Method,
            payment_method: Type.Union([Card, Wallet]),
          }),
          response: {
            201: RechargeView,
            ...problems(
              'CARD_NUMBER_INVALID',
              'CARD_EXPIRED',
              'CARD_NOT_SUPPORTED',
              'LIMIT_EXCEEDED',
              'RATE_LIMITED',
              'CHANNEL_MAINTENANCE',
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
        const row = await createRecharge(ctx, router, {
          customerId: actor.id,
          amount: request.body.amount,
          method: request.body.method,
          paymentMethod: request.body.payment_method as Record<string, unknown>,
          requestKey: request.idempotency?.key ?? null,
        });
        const [view] = await renderRecharges(ctx, router, [row], request.language);
        if (!view) throw new AppError('SYSTEM_BUSY', 'the object could not be rendered');
        return reply.code(201).send(view);
      },
    );

    app.get(
      '/v1/recharges',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['recharges'],
          description: '我的充值: the customer recharge records, newest first.',
          querystring: Type.Object(
            {
              ...ListQuery,
              status: Type.Optional(Status),
              method: Type.Optional(Method),
              from: Type.Optional(DayOrTime),
              to: Type.Optional(DayOrTime),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ data: Type.Array(RechargeView), next_cursor: Nullable(Type.String()) }),
            ...problems('UNAUTHENTICATED', 'FORBIDDEN'),
          },
        },
      },
      async (request) => {
        const actor = request.actor;
        if (!actor) throw new AppError('UNAUTHENTICATED');
        const q = request.query;
        const limit = q.limit ?? 20;
        const cursor = decodeCursor(q.cursor);
        let query = ctx.store.db
          .selectFrom('recharges')
          .selectAll()
          .where('customer_id', '=', actor.id)
          .orderBy('id', 'desc')
          .limit(limit + 1);
        if (q.status) query = query.where('status', '=', q.status);
        if (q.method) query = query.where('method', '=', q.method);
        if (q.from) query = query.where('created_at', '>=', boundary(q.from, 'start'));
        if (q.to) query = query.where('created_at', '<', boundary(q.to, 'end'));
        if (cursor !== null) query = query.where('id', '<', String(cursor));
        const rows = await query.execute();
        const { page, next_cursor } = pageOf(rows, limit, (row) => row.id);
        return {
          data: await renderRecharges(ctx, router, page, request.language),
          next_cursor,
        };
      },
    );

    app.get(
      '/v1/recharges/:id',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['recharges'],
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 200: RechargeDetail, ...problems('NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const actor = request.actor;
        if (!actor) throw new AppError('UNAUTHENTICATED');
        const row = await findOwnedOrNotFound(ctx.store.db, 'recharges', request.params.id, actor.id, 'recharge');
        const [view] = await renderRecharges(ctx, router, [row], request.language);
        if (!view) throw new AppError('SYSTEM_BUSY', 'the object could not be rendered');
        const attempts = await attemptsOf(ctx.store.db, row.id);
        const refunds = await refundsOf(ctx.store.db, row.id);
        return { ...view, attempts: attempts.map(toAttemptView), refunds: await renderRefunds(ctx, refunds, request.language) };
      },
    );
  };
}
