import { Type } from 'typebox';
import type { Context } from '../../context.js';
import { AppError } from '../../domain/errors.js';
import type { App } from '../../http/app.js';
import { problems } from '../../http/schemas.js';
import type { PaymentChannel } from '../payment-channel.js';

/**
 * The sandbox providers' own back office: their daily statement (CSV), what finance downloads
 * from a real channel's merchant portal and feeds to reconciliation. Only with TOPUP_SANDBOX=1.
 */
export function sandboxStatementRoutes(ctx: Context, channels: () => PaymentChannel[]) {
  return (app: App) => {
    if (!ctx.config.sandbox) return;
    app.get(
      '/v1/admin/providers/:provider/statement',
      {
        config: { auth: ['finance', 'admin'] },
        schema: {
          tags: ['sandbox'],
          description:
            "A sandbox provider's statement for one calendar day (Asia/Shanghai), as CSV: " +
            '`type,channel_txn_id,merchant_ref,amount,currency,time` — a line per collection (merchant_ref = attempt id) ' +
            'and per settled refund (channel_txn_id = channel refund id, merchant_ref = refund id); amounts in fen.',
          params: Type.Object({ provider: Type.String({ minLength: 1, maxLength: 64 }) }),
          querystring: Type.Object(
            { date: Type.String({ format: 'date', description: 'YYYY-MM-DD, calendar day in Asia/Shanghai' }) },
            { additionalProperties: false },
          ),
          produces: ['text/csv'],
          response: { 200: Type.String({ description: 'CSV' }), ...problems('NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request, reply) => {
        const channel = channels().find((c) => c.provider === request.params.provider);
        if (!channel) throw new AppError('NOT_FOUND', 'no such sandbox provider');
        const { csv } = await channel.statement(request.query.date);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${channel.provider}-${request.query.date}.csv"`)
          .send(csv);
      },
    );
  };
}
