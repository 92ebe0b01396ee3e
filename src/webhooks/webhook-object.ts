import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import type { Language } from '../domain/errors.js';
import { attemptsOf, refundsOf, toAttemptView } from '../recharges/recharge.repo.js';
import { renderRecharges } from '../recharges/recharge.routes.js';
import { renderRefunds } from '../refunds/refund.routes.js';
import type { EventsTable } from '../store/schema.js';

type Loader = (ctx: Context, router: ChannelRouter, id: string, language: Language) => Promise<Record<string, unknown> | null>;

/** The recharge exactly as `GET /v1/recharges/{id}` shows it. */
const recharge: Loader = async (ctx, router, id, language) => {
  const row = await ctx.store.db.selectFrom('recharges').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return null;
  const [view] = await renderRecharges(ctx, router, [row], language);
  if (!view) return null;
  const attempts = await attemptsOf(ctx.store.db, id);
  const refunds = await refundsOf(ctx.store.db, id);
  return { ...view, attempts: attempts.map(toAttemptView), refunds: await renderRefunds(ctx, refunds, language) };
};

/** The refund exactly as `GET /v1/refunds/{id}` shows it. */
const refund: Loader = async (ctx, _router, id, language) => {
  const row = await ctx.store.db.selectFrom('refunds').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return null;
  const [view] = await renderRefunds(ctx, [row], language);
  return view ?? null;
};

/**
 * How a webhook's `data` is loaded, by the id prefix of the event's subject. Tickets join with
 * one line (`tkt: ticket`); subjects without a loader send the event's own data.
 */
const LOADERS: Record<string, Loader> = { rch: recharge, rfd: refund };

/** The webhook `data` of an event: the object it is about, as the API shows it. */
export async function webhookObject(
  ctx: Context,
  router: ChannelRouter,
  event: EventsTable,
  language: Language,
): Promise<Record<string, unknown>> {
  const data = JSON.parse(event.data) as Record<string, unknown>;
  const loader = LOADERS[event.subject_id.split('_')[0] ?? ''];
  const object = loader ? await loader(ctx, router, event.subject_id, language) : null;
  if (object) return object;
  if (event.type === 'balance.low') return { object: 'balance', customer_id: event.customer_id, currency: 'CNY', ...data };
  return { id: event.subject_id, ...data };
}
