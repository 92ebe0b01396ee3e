import { ChannelFault, type PaymentChannel, type PaymentMethod, type PaymentSource, type PayResult } from '../channels/payment-channel.js';
import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import { shanghaiDay } from '../domain/clock.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { enqueueJob } from '../jobs/job-queue.js';
import type { Executor, Trx } from '../store/database.js';
import { reusableInsert, reusableQuery } from '../store/reusable-query.js';
import type { RechargesTable } from '../store/schema.js';
import { inTransaction, isUniqueViolation } from '../store/transaction.js';
import { failAttempt, failAttemptIn } from './fail-recharge.js';
import { parsePaymentSource } from './payment-source.js';
import { findRecharge } from './recharge.repo.js';
import { recordCollection } from './record-collection.js';

/** Minimum recharge (fen). */
export const MIN_RECHARGE = 100;
/** An unpaid order closes after this long (with a final status query first). */
export const ORDER_EXPIRY_MS = 30 * 60_000;
/** First status query for an attempt whose answer we did not get. */
export const FIRST_RESOLVE_DELAY_MS = 10_000;

export interface CreateRechargeInput {
  customerId: string;
  amount: number;
  method: PaymentMethod;
  /** The request's `payment_method` (cards or wallets), or a stored credential for auto-recharge. */
  paymentMethod: Record<string, unknown> | { credential: string; masked: string; provider: string };
  requestKey: string | null;
  isAuto?: boolean;
}

// The hot statements of an order, compiled once (see reusable-query.ts).
const selectByRequestKey = reusableQuery<RechargesTable>(2, (db, value) =>
  db.selectFrom('recharges').selectAll().where('customer_id', '=', value(0)).where('request_key', '=', value(1)),
);
const openDailyTotal = reusableInsert('recharge_daily_totals', { onConflictDoNothing: ['customer_id', 'day'] });
// Guard in the write: two concurrent recharges cannot both squeeze under the daily limit.
const addToDailyTotal = reusableQuery(5, (db, value) =>
  db
    .updateTable('recharge_daily_totals')
    .set((eb) => ({ amount: eb('amount', '+', value(0)) }))
    .where('customer_id', '=', value(1))
    .where('day', '=', value(2))
    .where((eb) => eb(eb('amount', '+', value(3)), '<=', value(4))),
);

async function findByRequestKey(db: Executor, customerId: string, requestKey: string): Promise<RechargesTable | undefined> {
  return (await selectByRequestKey(db, [customerId, requestKey])).rows[0];
}

async function reserveDailyAmount(ctx: Context, trx: Trx, customerId: string, day: string, amount: number): Promise<void> {
  await openDailyTotal(trx, [{ customer_id: customerId, day, amount: 0 }]);
  const reserved = await addToDailyTotal(trx, [amount, customerId, day, amount, ctx.config.limitDaily]);
  if (Number(reserved.numAffectedRows) !== 1) {
    throw new AppError('LIMIT_EXCEEDED', `the daily recharge limit of ${ctx.config.limitDaily} fen would be exceeded`);
  }
}

// Every order writes these: compiled once (see reusable-query.ts).
const insertRecharges = reusableInsert('recharges');
const insertAttempts = reusableInsert('recharge_attempts');

async function openAttempt(trx: Executor, recharge: RechargesTable, provider: string, now: Date): Promise<string> {
  const attemptId = newId('att', now.getTime());
  await insertAttempts(trx, [
    {
      id: attemptId,
      recharge_id: recharge.id,
      customer_id: recharge.customer_id,
      provider,
      status: 'processing',
      channel_txn_id: null,
      failure_code: null,
      channel_message: null,
      needs_review: 0,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      resolved_at: null,
    },
  ]);
  // Scheduled before the channel is called: if this process dies mid-call, the resolver still
  // finds out what the channel did.
  await enqueueJob(
    trx,
    {
      type: 'recharge.resolve',
      payload: { attemptId, n: 0 },
      runAt: new Date(now.getTime() + FIRST_RESOLVE_DELAY_MS),
      dedupeKey: `resolve:${attemptId}:0`,
    },
    now,
  );
  return attemptId;
}

type CallOutcome = { kind: 'result'; result: PayResult } | { kind: 'fault'; fault: ChannelFault };

async function callChannel(ctx: Context, channel: PaymentChannel, request: Parameters<PaymentChannel['pay']>[0]): Promise<CallOutcome> {
  try {
    const result = await channel.pay(request);
    ctx.metrics.channelCalls.inc({ provider: channel.provider, operation: 'pay', outcome: result.outcome });
    return { kind: 'result', result };
  } catch (error) {
    const fault =
      error instanceof ChannelFault ? error : new ChannelFault('timeout', error instanceof Error ? error.message : String(error));
    if (!(error instanceof ChannelFault)) ctx.log.error({ err: error, provider: channel.provider }, 'channel call failed unexpectedly');
    ctx.metrics.channelCalls.inc({ provider: channel.provider, operation: 'pay', outcome: fault.kind });
    return { kind: 'fault', fault };
  }
}

/**
 * Creates a recharge order and pays it through the first healthy provider of the method,
 * failing over on busy/maintenance answers. Never inside a database transaction: the intent
 * (order + attempt + resolver job) commits first, then the channel is called with our attempt
 * id as its idempotency key, then the outcome is recorded.
 *
 * Refusals before any channel call throw (no order): validation, card checks, limits, rate
 * limit, every provider in maintenance. Channel declines return a `failed` order.
 */
export async function createRecharge(ctx: Context, router: ChannelRouter, input: CreateRechargeInput): Promise<RechargesTable> {
  if (input.requestKey) {
    const existing = await findByRequestKey(ctx.store.db, input.customerId, input.requestKey);
    if (existing) return existing;
  }
  const now = ctx.clock.now();

  const rate = await ctx.limiter.hit(`recharge:${input.customerId}`, ctx.config.rechargeRatePerMin);
  if (!rate.allowed) {
    throw new AppError('RATE_LIMITED', 'too many recharge attempts in a short time', { retryAfterSeconds: rate.retryAfterSeconds });
  }

  let source: PaymentSource;
  let masked: string;
  let pinnedProvider: string | null = null;
  if ('credential' in input.paymentMethod && typeof input.paymentMethod.credential === 'string') {
    const stored = input.paymentMethod as { credential: string; masked: string; provider: string };
    source = { kind: 'credential', token: stored.credential };
    masked = stored.masked;
    pinnedProvider = stored.provider;
  } else {
    ({ source, masked } = parsePaymentSource(input.method, input.paymentMethod as Record<string, unknown>, now));
  }

  if (input.amount < MIN_RECHARGE) {
    throw new AppError('VALIDATION_FAILED', `the minimum recharge is ${MIN_RECHARGE} fen`, {
      errors: [{ field: 'amount', message: `must be at least ${MIN_RECHARGE}` }],
    });
  }
  if (input.amount > ctx.config.limitPerTx) {
    throw new AppError('LIMIT_EXCEEDED', `a single recharge is limited to ${ctx.config.limitPerTx} fen`);
  }

  const routed = await router.route(input.method);
  // A stored credential belongs to the provider that issued it.
  const providers = pinnedProvider ? routed.providers.filter((p) => p.provider === pinnedProvider) : routed.providers;
  // No provider to try and none merely tripped (circuit open): the method is under
  // maintenance (or not offered at all) — refuse before creating anything.
  const pinnedSkips = routed.skipped.filter((s) => !pinnedProvider || s.provider === pinnedProvider);
  const allInMaintenance = providers.length === 0 && !pinnedSkips.some((s) => s.availability === 'circuit_open');
  if (allInMaintenance) {
    const alternatives = (await router.operationalMethods()).filter((m) => m !== input.method);
    throw new AppError('CHANNEL_MAINTENANCE', `${input.method} is under maintenance`, { alternatives });
  }

  const day = shanghaiDay(now);
  const recharge: RechargesTable = {
    id: newId('rch', now.getTime()),
    customer_id: input.customerId,
    amount: input.amount,
    currency: 'CNY',
    method: input.method,
    status: 'pending',
    provider: providers[0]?.provider ?? pinnedSkips[0]?.provider ?? null,
    failure_code: null,
    failure_retryable: null,
    channel_message: null,
    source_masked: masked,
    credential_token: null,
    request_key: input.requestKey,
    is_auto: input.isAuto ? 1 : 0,
    day,
    expires_at: new Date(now.getTime() + ORDER_EXPIRY_MS).toISOString(),
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
    succeeded_at: null,
  };

  let firstAttempt: string | null = null;
  try {
    firstAttempt = await inTransaction(ctx.store, async (trx) => {
      await reserveDailyAmount(ctx, trx, input.customerId, day, input.amount);
      await insertRecharges(trx, [recharge]);
      const first = providers[0];
      if (first) return openAttempt(trx, recharge, first.provider, now);
      // Every provider's circuit is open: nothing answered, nothing was collected. The order
      // fails in the transaction that creates it — a crash between two transactions would leave
      // it pending with no attempt for the resolver to settle.
      const attemptId = await openAttempt(trx, recharge, recharge.provider ?? 'none', now);
      const failure = {
        attemptId,
        code: 'SYSTEM_BUSY' as const,
        retryable: true,
        channelMessage: 'no provider is answering (circuits open)',
      };
      await failAttemptIn(ctx, trx, failure, now);
      return null;
    });
  } catch (error) {
    if (isUniqueViolation(error) && input.requestKey) {
      const existing = await findByRequestKey(ctx.store.db, input.customerId, input.requestKey);
      if (existing) return existing;
    }
    throw error;
  }
  ctx.metrics.recharges.inc({ method: input.method, provider: recharge.provider ?? '', status: 'pending', failure_code: '' });

  if (!firstAttempt) return reload(ctx, recharge.id);

  let attemptId: string = firstAttempt;
  for (let i = 0; i < providers.length; i++) {
    const channel = providers[i] as PaymentChannel;
    const outcome = await callChannel(ctx, channel, {
      attemptId,
      amount: input.amount,
      currency: 'CNY',
      method: input.method,
      source,
      description: `Topup recharge ${recharge.id}`,
    });

    if (outcome.kind === 'result') {
      await router.recordSuccess(channel.provider);
      const result = outcome.result;
      if (result.outcome === 'succeeded') {
        await recordCollection(ctx, {
          provider: channel.provider,
          attemptId,
          channelTxnId: result.channelTxnId,
          amount: input.amount,
          paidAt: result.paidAt,
          credentialToken: result.credentialToken,
        });
      } else if (result.outcome === 'processing') {
        await ctx.store.db
          .updateTable('recharge_attempts')
          .set({ channel_txn_id: result.channelTxnId, updated_at: ctx.clock.now().toISOString() })
          .where('id', '=', attemptId)
          .where('status', '=', 'processing')
          .execute();
      } else {
        await failAttempt(ctx, { attemptId, code: result.code, retryable: result.retryable, channelMessage: result.channelMessage });
      }
      break;
    }

    const fault = outcome.fault;
    await router.recordFailure(channel.provider);
    if (fault.kind === 'timeout') {
      // Unknown is a state, not an error: the resolver asks the channel until it knows.
      await ctx.store.db
        .updateTable('recharge_attempts')
        .set({ status: 'unknown', channel_message: fault.message, updated_at: ctx.clock.now().toISOString() })
        .where('id', '=', attemptId)
        .where('status', '=', 'processing')
        .execute();
      break;
    }
    // Busy or maintenance: nothing was collected, so another provider may try.
    const next = providers[i + 1];
    if (!next) {
      await failAttempt(ctx, { attemptId, code: 'SYSTEM_BUSY', retryable: true, channelMessage: fault.message });
      break;
    }
    const failedAt = ctx.clock.now();
    attemptId = await inTransaction(ctx.store, async (trx) => {
      const id = await openAttempt(trx, recharge, next.provider, failedAt);
      await trx
        .updateTable('recharge_attempts')
        .set({ status: 'failed', failure_code: 'SYSTEM_BUSY', channel_message: fault.message, resolved_at: failedAt.toISOString() })
        .where('id', '=', attemptId)
        .where('status', '=', 'processing')
        .execute();
      await trx.updateTable('recharges').set({ provider: next.provider }).where('id', '=', recharge.id).execute();
      return id;
    });
  }
  return reload(ctx, recharge.id);
}

async function reload(ctx: Context, id: string): Promise<RechargesTable> {
  const row = await findRecharge(ctx.store.db, id);
  if (!row) throw new Error(`recharge ${id} vanished`);
  return row;
}
