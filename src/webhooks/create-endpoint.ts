import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { ContractEvent } from '../events/emit-event.js';
import type { WebhookEndpointsTable } from '../store/schema.js';
import { newWebhookSecret } from './endpoint.repo.js';
import { refuseWebhookUrl } from './url-guard.js';

/** Enough for every integration we know of; stops one account from fanning out without bound. */
export const MAX_ENDPOINTS_PER_CUSTOMER = 20;

/** Refuses a target URL the service must not call (scheme, credentials, SSRF), as a field error. */
export async function assertWebhookUrl(ctx: Context, url: string): Promise<void> {
  const refusal = await refuseWebhookUrl(url, { allowPrivate: ctx.config.sandbox });
  if (refusal) throw new AppError('VALIDATION_FAILED', `url ${refusal}`, { errors: [{ field: 'url', message: refusal }] });
}

/**
 * Registers an integrator's endpoint for some of the customer's events, with a fresh signing
 * secret. It receives events that happen from now on.
 */
export async function createEndpoint(
  ctx: Context,
  input: { customerId: string; url: string; events: ContractEvent[]; description: string | null },
): Promise<WebhookEndpointsTable> {
  await assertWebhookUrl(ctx, input.url);
  const count = await ctx.store.db
    .selectFrom('webhook_endpoints')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('customer_id', '=', input.customerId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (Number(count?.n ?? 0) >= MAX_ENDPOINTS_PER_CUSTOMER) {
    throw new AppError('VALIDATION_FAILED', `at most ${MAX_ENDPOINTS_PER_CUSTOMER} webhook endpoints per account`, {
      errors: [{ field: 'url', message: `at most ${MAX_ENDPOINTS_PER_CUSTOMER} endpoints; delete one first` }],
    });
  }
  const now = ctx.clock.now();
  const row: WebhookEndpointsTable = {
    id: newId('whe', now.getTime()),
    customer_id: input.customerId,
    url: input.url,
    events: JSON.stringify([...new Set(input.events)]),
    description: input.description,
    secret: newWebhookSecret(),
    previous_secret: null,
    previous_secret_expires_at: null,
    status: 'enabled',
    disabled_at: null,
    disabled_reason: null,
    failed_events: 0,
    failing_since: null,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
    deleted_at: null,
  };
  await ctx.store.db.insertInto('webhook_endpoints').values(row).execute();
  return row;
}
