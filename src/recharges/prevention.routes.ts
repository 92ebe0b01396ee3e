import { Type } from 'typebox';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import { MAX_AMOUNT } from '../domain/money.js';
import type { App } from '../http/app.js';
import { Nullable, problems, Strict, Timestamp } from '../http/schemas.js';
import { autoRechargeView, readSettings, reminderView, setAutoRecharge, setReminder } from './prevention.js';

const Threshold = Type.Integer({ minimum: 0, maximum: MAX_AMOUNT, description: 'fen' });
const Reminder = Type.Object({ threshold: Nullable(Type.Integer()), updated_at: Timestamp });
const AutoRecharge = Type.Object({
  enabled: Type.Boolean(),
  threshold: Nullable(Type.Integer()),
  amount: Nullable(Type.Integer()),
  from_recharge_id: Nullable(Type.String()),
  in_flight_recharge_id: Nullable(Type.String({ description: 'the auto top-up under way, if any' })),
  updated_at: Timestamp,
});

function customerId(request: { actor: { id: string } | null }): string {
  if (!request.actor) throw new AppError('UNAUTHENTICATED');
  return request.actor.id;
}

export function preventionRoutes(ctx: Context) {
  return (app: App) => {
    app.get(
      '/v1/balance/reminder',
      {
        config: { auth: ['customer'] },
        schema: { tags: ['balance'], response: { 200: Reminder, ...problems('UNAUTHENTICATED', 'FORBIDDEN') } },
      },
      async (request) => reminderView(await readSettings(ctx.store.db, customerId(request))),
    );
    app.put(
      '/v1/balance/reminder',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['balance'],
          description:
            '`balance.low` is sent once each time the available balance goes from at or above the threshold to below it; `null` turns it off.',
          body: Strict({ threshold: Nullable(Threshold) }),
          response: { 200: Reminder, ...problems('UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => reminderView(await setReminder(ctx, customerId(request), request.body.threshold)),
    );
    app.get(
      '/v1/balance/auto-recharge',
      {
        config: { auth: ['customer'] },
        schema: { tags: ['balance'], response: { 200: AutoRecharge, ...problems('UNAUTHENTICATED', 'FORBIDDEN') } },
      },
      async (request) => autoRechargeView(await readSettings(ctx.store.db, customerId(request))),
    );
    app.put(
      '/v1/balance/auto-recharge',
      {
        config: { auth: ['customer'] },
        schema: {
          tags: ['balance'],
          description:
            'When `available` drops below `threshold`, top up `amount` with the payment method of an earlier succeeded recharge (stored-credential token, no card data kept). Never two at once.',
          body: Strict({
            enabled: Type.Boolean(),
            threshold: Type.Optional(Nullable(Threshold)),
            amount: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: MAX_AMOUNT }))),
            from_recharge_id: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 64 }))),
          }),
          response: { 200: AutoRecharge, ...problems('NOT_FOUND', 'INVALID_STATE', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) =>
        autoRechargeView(
          await setAutoRecharge(ctx, customerId(request), {
            enabled: request.body.enabled,
            threshold: request.body.threshold ?? null,
            amount: request.body.amount ?? null,
            fromRechargeId: request.body.from_recharge_id ?? null,
          }),
        ),
    );
  };
}
