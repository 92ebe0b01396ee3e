import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import type { Language } from '../domain/errors.js';
import { findUserById } from '../identity/users.repo.js';
import { readCustomerBalance } from '../ledger/customer-accounts.js';
import { renderRecharges } from '../recharges/recharge.routes.js';
import { renderRefunds } from '../refunds/refund.routes.js';

const RECENT = 20;

/**
 * What a reviewer needs to judge a customer's refund application: the account, its balance and the
 * latest recharges and refunds. `null` when the id is not a customer.
 */
export async function readCustomerHistory(ctx: Context, router: ChannelRouter, customerId: string, language: Language) {
  const user = await findUserById(ctx.store.db, customerId);
  if (!user || user.role !== 'customer') return null;
  const balance = await readCustomerBalance(ctx.store.db, customerId);
  const recharges = await ctx.store.db
    .selectFrom('recharges')
    .selectAll()
    .where('customer_id', '=', customerId)
    .orderBy('id', 'desc')
    .limit(RECENT)
    .execute();
  const refunds = await ctx.store.db
    .selectFrom('refunds')
    .selectAll()
    .where('customer_id', '=', customerId)
    .orderBy('id', 'desc')
    .limit(RECENT)
    .execute();
  return {
    user: { id: user.id, email: user.email, phone: user.phone, name: user.name, status: user.status, created_at: user.created_at },
    balance: { available: balance?.available ?? 0, held: balance?.held ?? 0 },
    recharges: await renderRecharges(ctx, router, recharges, language),
    refunds: await renderRefunds(ctx, refunds, language),
  };
}
