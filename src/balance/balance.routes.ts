import { Type } from 'typebox';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { App } from '../http/app.js';
import { decodeNumericCursor, pageOf } from '../http/cursor.js';
import { recordInUseCase } from '../http/idempotency.js';
import {
  Amount,
  Currency,
  IdempotencyHeader,
  ListQuery,
  Nullable,
  Page,
  problems,
  SignedAmount,
  Strict,
  Timestamp,
} from '../http/schemas.js';
import { actorRef } from '../identity/roles.js';
import { listBalanceMovements, readCustomerBalance } from '../ledger/customer-accounts.js';
import { adjustBalance } from './adjust-balance.js';
import { makePurchase } from './make-purchase.js';

const Balance = Type.Object({ available: Type.Integer(), held: Type.Integer(), currency: Currency, updated_at: Timestamp });
const Movement = Type.Object({
  id: Type.String({ description: 'ledger transaction id' }),
  amount: Type.Integer({ description: 'signed change of the available balance, fen' }),
  kind: Type.String(),
  ref: Nullable(Type.String()),
  created_at: Timestamp,
  balance_after: Type.Integer(),
});
const Purchase = Type.Object({
  id: Type.String(),
  amount: Type.Integer(),
  currency: Currency,
  description: Type.String(),
  balance_after: Type.Integer(),
  transaction_id: Type.String(),
  created_at: Timestamp,
});
const Adjustment = Type.Object({
  id: Type.String(),
  user_id: Type.String(),
  amount: Type.Integer(),
  currency: Currency,
  reason: Type.String(),
  actor_id: Type.String(),
  transaction_id: Type.String(),
  balance_after: Type.Integer(),
  created_at: Timestamp,
});

function actorOf(request: { actor: import('../identity/roles.js').Actor | null }) {
  if (!request.actor) throw new AppError('UNAUTHENTICATED');
  return request.actor;
}

export function balanceRoutes(ctx: Context) {
  return (app: App) => {
    app.get(
      '/v1/balance',
      {
        config: { auth: ['customer'] },
        schema: { tags: ['balance'], response: { 200: Balance, ...problems('UNAUTHENTICATED', 'FORBIDDEN') } },
      },
      async (request) => {
        const balance = await readCustomerBalance(ctx.store.db, actorOf(request).id);
        if (!balance) throw new AppError('NOT_FOUND', 'no balance for this account');
        return { available: balance.available, held: balance.held, currency: 'CNY' as const, updated_at: balance.updatedAt };
      },
    );

    app.get(
      '/v1/balance/transactions',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['balance'],
          querystring: Type.Object(ListQuery, { additionalProperties: false }),
          response: { 200: Page(Movement), ...problems('UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? 20;
        const rows = await listBalanceMovements(ctx.store.db, actorOf(request).id, {
          limit: limit + 1,
          beforeSeq: decodeNumericCursor(request.query.cursor),
        });
        const { page, next_cursor } = pageOf(rows, limit, (row) => row.seq);
        return {
          data: page.map((m) => ({
            id: m.transactionId,
            amount: m.amount,
            kind: m.kind,
            ref: m.ref,
            created_at: m.createdAt,
            balance_after: m.balanceAfter,
          })),
          next_cursor,
        };
      },
    );

    app.post(
      '/v1/purchases',
      {
        config: { auth: ['customer'], idempotent: 'in-use-case' },
        schema: {
          tags: ['balance'],
          description: 'Spend balance on API services. (I) requires Idempotency-Key.',
          headers: IdempotencyHeader,
          body: Strict({ amount: Amount, description: Type.String({ minLength: 1, maxLength: 500 }) }),
          response: {
            201: Purchase,
            ...problems(
              'INSUFFICIENT_BALANCE',
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
        const purchase = await makePurchase(ctx, {
          customerId: actorOf(request).id,
          amount: request.body.amount,
          description: request.body.description,
          requestKey: request.idempotency?.key ?? null,
          record: recordInUseCase(ctx, request, 201),
        });
        return reply.code(201).send(purchase);
      },
    );

    app.post(
      '/v1/admin/adjustments',
      {
        config: { auth: ['finance', 'admin'], idempotent: true },
        schema: {
          tags: ['admin'],
          description: "Finance's manual correction of a customer balance, with a reason (audited). (I)",
          headers: IdempotencyHeader,
          body: Strict({
            user_id: Type.String({ minLength: 1, maxLength: 64 }),
            amount: SignedAmount,
            reason: Type.String({ minLength: 1, maxLength: 500 }),
          }),
          response: {
            201: Adjustment,
            ...problems(
              'INSUFFICIENT_BALANCE',
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
        const actor = actorOf(request);
        if (request.body.amount === 0) {
          throw new AppError('VALIDATION_FAILED', 'amount must not be zero', {
            errors: [{ field: 'amount', message: 'must not be zero' }],
          });
        }
        const adjustment = await adjustBalance(ctx, {
          userId: request.body.user_id,
          amount: request.body.amount,
          reason: request.body.reason,
          actorId: actor.id,
          actorRef: actorRef(actor),
          requestKey: request.idempotency?.key ?? null,
        });
        return reply.code(201).send(adjustment);
      },
    );
  };
}
