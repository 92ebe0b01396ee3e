import { Type } from 'typebox';
import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { App } from '../http/app.js';
import { Nullable, problems } from '../http/schemas.js';
import { RechargeView } from '../recharges/recharge.routes.js';
import { RefundView } from '../refunds/refund.routes.js';
import { readCustomerHistory } from './customer-history.js';
import { readDashboard } from './dashboard.js';

const Day = Type.String({ description: 'YYYY-MM-DD in the viewer’s time zone' });

const Dashboard = Type.Object({
  from: Type.String(),
  to: Type.String(),
  utc_offset_minutes: Type.Integer(),
  days: Type.Array(Day),
  recharges: Type.Array(
    Type.Object({
      day: Day,
      total: Type.Integer(),
      succeeded: Type.Integer(),
      failed: Type.Integer(),
      pending: Type.Integer(),
      closed: Type.Integer(),
      succeeded_amount: Type.Integer({ description: 'fen' }),
      success_rate: Nullable(Type.Number({ description: 'succeeded / (succeeded + failed)' })),
    }),
  ),
  failures: Type.Array(
    Type.Object(
      { day: Day, code: Type.String(), provider: Type.String(), count: Type.Integer() },
      { description: 'failed payment attempts by failure code and provider' },
    ),
  ),
  refunds: Type.Array(
    Type.Object({
      day: Day,
      created: Type.Integer(),
      created_amount: Type.Integer(),
      automatic: Type.Integer(),
      succeeded: Type.Integer(),
      succeeded_amount: Type.Integer(),
      median_hours_to_money: Nullable(Type.Number()),
      p90_hours_to_money: Nullable(Type.Number()),
    }),
  ),
  refunds_by_status: Type.Array(Type.Object({ status: Type.String(), count: Type.Integer() })),
  sla_breaches: Type.Array(Type.Object({ day: Day, count: Type.Integer() }), {
    description: 'review SLAs that ran out, per day of the deadline',
  }),
  sla_open_breached: Type.Integer({ description: 'open applications past their SLA now' }),
});

const CustomerHistory = Type.Object({
  user: Type.Object({
    id: Type.String(),
    email: Type.String(),
    phone: Nullable(Type.String()),
    name: Nullable(Type.String()),
    status: Type.String(),
    created_at: Type.String(),
  }),
  balance: Type.Object({ available: Type.Integer(), held: Type.Integer() }),
  recharges: Type.Array(RechargeView),
  refunds: Type.Array(RefundView),
});

/**
 * Read-only staff views for the console: the dashboard's aggregates and a customer's history (beside a
 * refund under review). Nothing here changes state.
 */
export function dashboardRoutes(ctx: Context, router: ChannelRouter) {
  return (app: App) => {
    app.get(
      '/v1/admin/dashboard',
      {
        config: { auth: ['cs_agent', 'finance', 'admin'] },
        schema: {
          tags: ['admin'],
          description:
            'Recharge success rate, failed attempts by code and provider, refund volume, time to money and SLA breaches, per day of the viewer.',
          querystring: Type.Object(
            {
              days: Type.Optional(Type.Integer({ minimum: 1, maximum: 90, default: 14 })),
              utc_offset_minutes: Type.Optional(
                Type.Integer({ minimum: -720, maximum: 840, default: 480, description: 'the viewer’s offset from UTC (480 = UTC+8)' }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: Dashboard, ...problems('UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) =>
        readDashboard(ctx.store.db, {
          days: request.query.days ?? 14,
          utcOffsetMinutes: request.query.utc_offset_minutes ?? 480,
          now: ctx.clock.now(),
        }),
    );

    app.get(
      '/v1/admin/customers/:id',
      {
        config: { auth: ['cs_agent', 'finance', 'admin'] },
        schema: {
          tags: ['admin'],
          description: 'A customer’s account, balance and latest recharges and refunds, for staff reviewing their case.',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 200: CustomerHistory, ...problems('NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const history = await readCustomerHistory(ctx, router, request.params.id, request.language);
        if (!history) throw new AppError('NOT_FOUND', 'no such customer');
        return history;
      },
    );
  };
}
