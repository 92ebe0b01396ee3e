import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import { emitEvent } from '../events/emit-event.js';
import { enqueueJob } from '../jobs/job-queue.js';
import type { Worker } from '../jobs/worker.js';
import { accounts } from '../ledger/accounts.js';
import { readCustomerBalance } from '../ledger/customer-accounts.js';
import type { Executor } from '../store/database.js';
import type { BalanceSettingsTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { createRecharge, MIN_RECHARGE } from './create-recharge.js';

/** A claim on the auto-recharge slot older than this is from a process that died mid-way. */
const STALE_CLAIM_MS = 10 * 60_000;

export async function readSettings(db: Executor, customerId: string): Promise<BalanceSettingsTable> {
  const row = await db.selectFrom('balance_settings').selectAll().where('customer_id', '=', customerId).executeTakeFirst();
  return (
    row ?? {
      customer_id: customerId,
      reminder_threshold: null,
      auto_enabled: 0,
      auto_threshold: null,
      auto_amount: null,
      auto_from_recharge_id: null,
      auto_in_flight_recharge_id: null,
      updated_at: new Date(0).toISOString(),
    }
  );
}

async function upsertSettings(trx: Executor, settings: BalanceSettingsTable): Promise<void> {
  await trx
    .insertInto('balance_settings')
    .values(settings)
    .onConflict((oc) =>
      oc.column('customer_id').doUpdateSet({
        reminder_threshold: settings.reminder_threshold,
        auto_enabled: settings.auto_enabled,
        auto_threshold: settings.auto_threshold,
        auto_amount: settings.auto_amount,
        auto_from_recharge_id: settings.auto_from_recharge_id,
        updated_at: settings.updated_at,
      }),
    )
    .execute();
}

export function reminderView(s: BalanceSettingsTable) {
  return { threshold: s.reminder_threshold === null ? null : Number(s.reminder_threshold), updated_at: s.updated_at };
}

export function autoRechargeView(s: BalanceSettingsTable) {
  return {
    enabled: s.auto_enabled === 1,
    threshold: s.auto_threshold === null ? null : Number(s.auto_threshold),
    amount: s.auto_amount === null ? null : Number(s.auto_amount),
    from_recharge_id: s.auto_from_recharge_id,
    in_flight_recharge_id: s.auto_in_flight_recharge_id?.startsWith('rch_') ? s.auto_in_flight_recharge_id : null,
    updated_at: s.updated_at,
  };
}

/**
 * Low-balance reminder: `balance.low` once each time the available balance goes from at or
 * above the threshold to below it. The threshold is also set on the balance row, so the debit
 * that crosses it notices in its own UPDATE (see postTransaction).
 */
export async function setReminder(ctx: Context, customerId: string, threshold: number | null): Promise<BalanceSettingsTable> {
  const now = ctx.clock.now().toISOString();
  return inTransaction(ctx.store, async (trx) => {
    const settings = { ...(await readSettings(trx, customerId)), reminder_threshold: threshold, updated_at: now };
    await upsertSettings(trx, settings);
    await trx
      .updateTable('ledger_accounts')
      .set({ reminder_threshold: threshold })
      .where('id', '=', accounts.customerBalance(customerId).id)
      .execute();
    return settings;
  });
}

export interface AutoRechargeInput {
  enabled: boolean;
  threshold: number | null;
  amount: number | null;
  fromRechargeId: string | null;
}

/**
 * Threshold auto-recharge: when the balance drops below `threshold`, top up `amount` with the
 * payment method of an earlier succeeded recharge, through the provider's stored-credential
 * token (no card data is kept).
 */
export async function setAutoRecharge(ctx: Context, customerId: string, input: AutoRechargeInput): Promise<BalanceSettingsTable> {
  if (input.enabled) {
    const missing = (['threshold', 'amount', 'fromRechargeId'] as const).filter((k) => input[k] === null);
    if (missing.length > 0) {
      throw new AppError('VALIDATION_FAILED', 'threshold, amount and from_recharge_id are required to enable auto-recharge', {
        errors: missing.map((k) => ({ field: k === 'fromRechargeId' ? 'from_recharge_id' : k, message: 'is required when enabled' })),
      });
    }
    if ((input.amount ?? 0) < MIN_RECHARGE || (input.amount ?? 0) > ctx.config.limitPerTx) {
      throw new AppError('VALIDATION_FAILED', `amount must be between ${MIN_RECHARGE} and ${ctx.config.limitPerTx}`, {
        errors: [{ field: 'amount', message: `must be between ${MIN_RECHARGE} and ${ctx.config.limitPerTx}` }],
      });
    }
  }
  const now = ctx.clock.now();
  const settings = await inTransaction(ctx.store, async (trx) => {
    if (input.fromRechargeId !== null) {
      const source = await trx
        .selectFrom('recharges')
        .select(['id', 'status', 'credential_token'])
        .where('id', '=', input.fromRechargeId)
        .where('customer_id', '=', customerId)
        .executeTakeFirst();
      if (!source) throw new AppError('NOT_FOUND', 'no such recharge');
      if (source.status !== 'succeeded' || !source.credential_token) {
        throw new AppError('INVALID_STATE', 'auto-recharge needs a succeeded recharge whose payment method can be reused');
      }
    }
    const settings: BalanceSettingsTable = {
      ...(await readSettings(trx, customerId)),
      auto_enabled: input.enabled ? 1 : 0,
      auto_threshold: input.threshold,
      auto_amount: input.amount,
      auto_from_recharge_id: input.fromRechargeId,
      updated_at: now.toISOString(),
    };
    await upsertSettings(trx, settings);
    await trx
      .updateTable('ledger_accounts')
      .set({ auto_recharge_threshold: input.enabled ? input.threshold : null })
      .where('id', '=', accounts.customerBalance(customerId).id)
      .execute();
    if (input.enabled) {
      // Already below the threshold: start now rather than wait for the next debit.
      const balance = await readCustomerBalance(trx, customerId);
      if (balance && input.threshold !== null && balance.available < input.threshold) {
        await enqueueJob(trx, { type: 'auto_recharge.start', payload: { customerId } }, now);
      }
    }
    return settings;
  });
  return settings;
}

/** Starts one auto top-up unless one is already in flight (a guarded claim on the settings row). */
export async function startAutoRecharge(ctx: Context, router: ChannelRouter, customerId: string, jobId: string): Promise<void> {
  const settings = await readSettings(ctx.store.db, customerId);
  if (settings.auto_enabled !== 1 || settings.auto_threshold === null || settings.auto_amount === null || !settings.auto_from_recharge_id)
    return;
  const balance = await readCustomerBalance(ctx.store.db, customerId);
  if (!balance || balance.available >= Number(settings.auto_threshold)) return;
  const source = await ctx.store.db.selectFrom('recharges').selectAll().where('id', '=', settings.auto_from_recharge_id).executeTakeFirst();

  const now = ctx.clock.now();
  const claim = `pending:${jobId}`;
  const staleBefore = new Date(now.getTime() - STALE_CLAIM_MS).toISOString();
  const claimed = await ctx.store.db
    .updateTable('balance_settings')
    .set({ auto_in_flight_recharge_id: claim, updated_at: now.toISOString() })
    .where('customer_id', '=', customerId)
    .where((eb) =>
      eb.or([
        eb('auto_in_flight_recharge_id', 'is', null),
        eb('auto_in_flight_recharge_id', '=', claim),
        eb.and([eb('auto_in_flight_recharge_id', 'like', 'pending:%'), eb('updated_at', '<', staleBefore)]),
      ]),
    )
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) return; // one top-up at a time

  const release = () =>
    ctx.store.db
      .updateTable('balance_settings')
      .set({ auto_in_flight_recharge_id: null })
      .where('customer_id', '=', customerId)
      .where('auto_in_flight_recharge_id', '=', claim)
      .execute();

  if (!source?.credential_token || !source.provider) {
    await release();
    await emitFailure(ctx, customerId, jobId, 'the saved payment method is no longer available');
    return;
  }
  try {
    const order = await createRecharge(ctx, router, {
      customerId,
      amount: Number(settings.auto_amount),
      method: source.method as Parameters<typeof createRecharge>[2]['method'],
      paymentMethod: { credential: source.credential_token, masked: source.source_masked, provider: source.provider },
      requestKey: `auto:${jobId}`,
      isAuto: true,
    });
    if (order.status === 'pending') {
      await ctx.store.db
        .updateTable('balance_settings')
        .set({ auto_in_flight_recharge_id: order.id })
        .where('customer_id', '=', customerId)
        .where('auto_in_flight_recharge_id', '=', claim)
        .execute();
      // It may have finished between the two statements; then free the slot.
      const latest = await ctx.store.db.selectFrom('recharges').select('status').where('id', '=', order.id).executeTakeFirst();
      if (latest && latest.status !== 'pending') {
        await ctx.store.db
          .updateTable('balance_settings')
          .set({ auto_in_flight_recharge_id: null })
          .where('customer_id', '=', customerId)
          .where('auto_in_flight_recharge_id', '=', order.id)
          .execute();
      }
    } else {
      await release();
    }
  } catch (error) {
    await release();
    if (error instanceof AppError) {
      await emitFailure(ctx, customerId, jobId, error.detail ?? error.code, error.code);
      return;
    }
    throw error;
  }
}

async function emitFailure(ctx: Context, customerId: string, jobId: string, reason: string, code?: string): Promise<void> {
  await emitEvent(ctx.store.db, {
    id: `ntf_auto_${jobId}`,
    customerId,
    type: 'auto_recharge.failed',
    subjectId: customerId,
    data: { reason, code: code ?? null },
    at: ctx.clock.now(),
  });
}

export function registerPreventionJobs(ctx: Context, worker: Worker, router: ChannelRouter): void {
  worker.register('balance.crossed_below', async (payload, job) => {
    const customerId = String(payload.customerId);
    if (payload.reminder === true) {
      const settings = await readSettings(ctx.store.db, customerId);
      await emitEvent(ctx.store.db, {
        id: `ntf_low_${job.jobId}`,
        customerId,
        type: 'balance.low',
        subjectId: customerId,
        data: {
          available: Number(payload.balance),
          threshold: settings.reminder_threshold === null ? null : Number(settings.reminder_threshold),
        },
        at: ctx.clock.now(),
      });
    }
    if (payload.autoRecharge === true) await startAutoRecharge(ctx, router, customerId, job.jobId);
  });
  worker.register('auto_recharge.start', async (payload, job) => {
    await startAutoRecharge(ctx, router, String(payload.customerId), job.jobId);
  });
}
