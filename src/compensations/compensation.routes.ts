import { Type } from 'typebox';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { App } from '../http/app.js';
import { Amount, Currency, IdempotencyHeader, Nullable, problems, Strict, Timestamp } from '../http/schemas.js';
import { actorRef } from '../identity/roles.js';
import { grantCompensation } from './grant-compensation.js';

const Compensation = Type.Object({
  id: Type.String(),
  user_id: Type.String(),
  amount: Type.Integer(),
  currency: Currency,
  reason: Type.String(),
  refund_id: Nullable(Type.String()),
  actor: Type.String(),
  transaction_id: Type.String(),
  balance_after: Type.Integer(),
  created_at: Timestamp,
});

export function compensationRoutes(ctx: Context) {
  return (app: App) => {
    app.post(
      '/v1/admin/compensations',
      {
        config: { auth: ['cs_agent'], idempotent: true },
        schema: {
          tags: ['refund review'],
          description:
            'Credit a compensation for a fault the platform caused (I). Agents up to TOPUP_AGENT_COMPENSATION_CAP, supervisors up to TOPUP_SUPERVISOR_COMPENSATION_CAP, admins without cap.',
          headers: IdempotencyHeader,
          body: Strict({
            user_id: Type.String({ minLength: 1, maxLength: 64 }),
            amount: Amount,
            reason: Type.String({ minLength: 1, maxLength: 500 }),
            refund_id: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 64 }))),
          }),
          response: {
            201: Compensation,
            ...problems(
              'NOT_FOUND',
              'FORBIDDEN',
              'UNAUTHENTICATED',
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
        const view = await grantCompensation(ctx, {
          userId: request.body.user_id,
          amount: request.body.amount,
          reason: request.body.reason,
          refundId: request.body.refund_id ?? null,
          actor: actorRef(actor),
          actorRole: actor.role,
          requestKey: request.idempotency?.key ?? null,
        });
        return reply.code(201).send(view);
      },
    );
  };
}
