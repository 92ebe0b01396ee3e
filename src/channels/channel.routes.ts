import { Type } from 'typebox';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { App } from '../http/app.js';
import { problems } from '../http/schemas.js';
import { recordCollection } from '../recharges/record-collection.js';
import { completeRefund, fallBackToBalance } from '../refunds/payout-refund.js';
import type { ChannelRouter } from './router.js';

/**
 * Where channels tell us what happened. The signature (and its freshness) is checked by the
 * provider's adapter before anything is read; a bad one answers 401 and changes nothing.
 * Processing is idempotent per channel transaction id and only moves state forward, so the
 * channel's resends are harmless. The raw body is kept for the signature check.
 */
export function channelRoutes(ctx: Context, router: ChannelRouter) {
  return (app: App) => {
    // register() answers a thenable of the app; plugins load with the app's own ready().
    void app.register((scoped, _options, done) => {
      scoped.removeAllContentTypeParsers();
      scoped.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => done(null, body));
      scoped.post(
        '/v1/channels/:provider/notify',
        {
          config: { auth: 'public' },
          schema: {
            tags: ['channels'],
            security: [],
            description: 'Signed asynchronous notifications from payment channels.',
            params: Type.Object({ provider: Type.String({ maxLength: 64 }) }),
            response: { 200: Type.Object({ status: Type.Literal('ok') }), ...problems('UNAUTHENTICATED', 'NOT_FOUND') },
          },
        },
        async (request) => {
          const { provider } = request.params as { provider: string };
          const channel = router.channel(provider);
          if (!channel) throw new AppError('NOT_FOUND', 'no such provider');
          const raw = typeof request.body === 'string' ? request.body : '';
          let notification: Awaited<ReturnType<typeof channel.verifyNotification>>;
          try {
            notification = await channel.verifyNotification(request.headers, raw);
          } catch (error) {
            request.log.warn({ provider: channel.provider, err: error }, 'channel notification rejected');
            throw new AppError('UNAUTHENTICATED', 'notification signature is not valid');
          }
          if (notification.event === 'payment.succeeded') {
            await recordCollection(ctx, {
              provider: channel.provider,
              attemptId: notification.attemptId,
              channelTxnId: notification.channelTxnId,
              amount: notification.amount,
              paidAt: notification.paidAt,
            });
          } else {
            const refund = await ctx.store.db
              .selectFrom('refunds')
              .select(['id', 'provider'])
              .where('id', '=', notification.refundId)
              .executeTakeFirst();
            if (refund && refund.provider === channel.provider) {
              if (notification.event === 'refund.succeeded') await completeRefund(ctx, refund.id, notification.channelRefundId);
              else await fallBackToBalance(ctx, refund.id, 'refused by the channel');
            }
          }
          return { status: 'ok' as const };
        },
      );
      done();
    });
  };
}
