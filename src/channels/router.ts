import type { Context } from '../context.js';
import { newId } from '../domain/ids.js';
import type { Executor, Trx } from '../store/database.js';
import { reusableQuery } from '../store/reusable-query.js';
import type { ProviderStatesTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { PAYMENT_METHODS, type PaymentChannel, type PaymentMethod } from './payment-channel.js';

/** Consecutive busy/timeouts within this window open a provider's circuit… */
const FAILURE_WINDOW_MS = 60_000;
const FAILURES_TO_OPEN = 5;
/** …which is tried again after this long (half-open). */
const OPEN_MS = 30_000;

export type ProviderAvailability = 'available' | 'maintenance' | 'circuit_open';

export interface ProviderState {
  provider: string;
  availability: ProviderAvailability;
  maintenance: { until: string | null; message: string | null } | null;
  circuitOpenUntil: string | null;
  consecutiveFailures: number;
}

function inMaintenance(row: ProviderStatesTable | undefined, nowIso: string): boolean {
  if (!row || row.maintenance !== 1) return false;
  return row.maintenance_until === null || row.maintenance_until > nowIso;
}

/**
 * Picks providers for a payment method in their fixed priority order, skipping those in a
 * maintenance window or with an open circuit. Provider state lives in the database so every
 * API process sees the same circuits and windows.
 */
// Read on every recharge: compiled once (see reusable-query.ts).
const selectProviderStates = reusableQuery<ProviderStatesTable>(0, (db) => db.selectFrom('provider_states').selectAll());

export class ChannelRouter {
  private readonly byProvider = new Map<string, PaymentChannel>();

  constructor(
    private readonly ctx: Context,
    readonly channels: PaymentChannel[],
  ) {
    for (const c of channels) this.byProvider.set(c.provider, c);
  }

  channel(provider: string): PaymentChannel | undefined {
    return this.byProvider.get(provider);
  }

  providersFor(method: PaymentMethod): PaymentChannel[] {
    return this.channels.filter((c) => c.methods.includes(method));
  }

  async states(db: Executor = this.ctx.store.db): Promise<ProviderState[]> {
    const { rows } = await selectProviderStates(db, []);
    const nowIso = this.ctx.clock.now().toISOString();
    return this.channels.map((c) => {
      const row = rows.find((r) => r.provider === c.provider);
      const maintenance = inMaintenance(row, nowIso);
      const open = row?.open_until != null && row.open_until > nowIso;
      return {
        provider: c.provider,
        availability: maintenance ? 'maintenance' : open ? 'circuit_open' : 'available',
        maintenance: maintenance ? { until: row?.maintenance_until ?? null, message: row?.maintenance_message ?? null } : null,
        circuitOpenUntil: open ? (row?.open_until ?? null) : null,
        consecutiveFailures: row?.consecutive_failures ?? 0,
      };
    });
  }

  /** Providers to try, in priority order, and why the others were skipped. */
  async route(method: PaymentMethod): Promise<{ providers: PaymentChannel[]; skipped: ProviderState[] }> {
    const states = await this.states();
    const candidates = this.providersFor(method);
    const providers: PaymentChannel[] = [];
    const skipped: ProviderState[] = [];
    for (const c of candidates) {
      const state = states.find((s) => s.provider === c.provider);
      if (!state || state.availability === 'available') providers.push(c);
      else skipped.push(state);
    }
    return { providers, skipped };
  }

  /** Methods with at least one provider that is not in maintenance (for "use another method" advice). */
  async operationalMethods(): Promise<PaymentMethod[]> {
    const states = await this.states();
    return PAYMENT_METHODS.filter((m) =>
      this.providersFor(m).some((c) => states.find((s) => s.provider === c.provider)?.availability === 'available'),
    );
  }

  private async ensureRow(provider: string): Promise<void> {
    await this.ctx.store.db
      .insertInto('provider_states')
      .values({ provider, consecutive_failures: 0, maintenance: 0, updated_at: this.ctx.clock.now().toISOString() })
      .onConflict((oc) => oc.column('provider').doNothing())
      .execute();
  }

  /** A busy answer or a timeout. Five in a row within a minute open the circuit for 30 s. */
  async recordFailure(provider: string): Promise<void> {
    await this.ensureRow(provider);
    const now = this.ctx.clock.now();
    const nowIso = now.toISOString();
    const windowStart = new Date(now.getTime() - FAILURE_WINDOW_MS).toISOString();
    const db = this.ctx.store.db;
    // Reset a stale window, then count; both guarded single statements.
    await db
      .updateTable('provider_states')
      .set({ consecutive_failures: 0, window_started_at: nowIso })
      .where('provider', '=', provider)
      .where((eb) => eb.or([eb('window_started_at', 'is', null), eb('window_started_at', '<', windowStart)]))
      .execute();
    const row = await db
      .updateTable('provider_states')
      .set((eb) => ({ consecutive_failures: eb('consecutive_failures', '+', 1), updated_at: nowIso }))
      .where('provider', '=', provider)
      .returning(['consecutive_failures', 'open_until'])
      .executeTakeFirst();
    if (!row || row.consecutive_failures < FAILURES_TO_OPEN) return;
    const openUntil = new Date(now.getTime() + OPEN_MS).toISOString();
    const opened = await db
      .updateTable('provider_states')
      .set({ open_until: openUntil, consecutive_failures: 0, window_started_at: null })
      .where('provider', '=', provider)
      .where((eb) => eb.or([eb('open_until', 'is', null), eb('open_until', '<=', nowIso)]))
      .executeTakeFirst();
    if (Number(opened.numUpdatedRows) === 1) {
      this.ctx.log.warn({ provider, openUntil }, 'circuit opened');
      await db
        .insertInto('incidents')
        .values({
          id: newId('inc', now.getTime()),
          provider,
          kind: 'outage',
          message: `${provider} is failing; payments are routed to other providers where possible`,
          started_at: nowIso,
          ends_at: openUntil,
          ended_at: null,
        })
        .execute();
    }
  }

  /** A definite answer (even a decline) proves the provider is up: close its circuit. */
  async recordSuccess(provider: string): Promise<void> {
    const nowIso = this.ctx.clock.now().toISOString();
    const db = this.ctx.store.db;
    const reset = await db
      .updateTable('provider_states')
      .set({ consecutive_failures: 0, window_started_at: null, open_until: null, updated_at: nowIso })
      .where('provider', '=', provider)
      .where((eb) => eb.or([eb('consecutive_failures', '>', 0), eb('open_until', 'is not', null)]))
      .executeTakeFirst();
    if (Number(reset.numUpdatedRows) > 0) {
      await db
        .updateTable('incidents')
        .set({ ended_at: nowIso })
        .where('provider', '=', provider)
        .where('kind', '=', 'outage')
        .where('ended_at', 'is', null)
        .execute();
    }
  }

  async startMaintenance(provider: string, input: { until: string | null; message: string }): Promise<void> {
    await this.ensureRow(provider);
    const now = this.ctx.clock.now().toISOString();
    await inTransaction(this.ctx.store, async (trx) => {
      await trx
        .updateTable('provider_states')
        .set({ maintenance: 1, maintenance_until: input.until, maintenance_message: input.message, updated_at: now })
        .where('provider', '=', provider)
        .execute();
      await endMaintenanceIncidents(trx, provider, now);
      await trx
        .insertInto('incidents')
        .values({
          id: newId('inc'),
          provider,
          kind: 'maintenance',
          message: input.message,
          started_at: now,
          ends_at: input.until,
          ended_at: null,
        })
        .execute();
    });
  }

  async endMaintenance(provider: string): Promise<boolean> {
    const now = this.ctx.clock.now().toISOString();
    return inTransaction(this.ctx.store, async (trx) => {
      const ended = await trx
        .updateTable('provider_states')
        .set({ maintenance: 0, maintenance_until: null, maintenance_message: null, updated_at: now })
        .where('provider', '=', provider)
        .where('maintenance', '=', 1)
        .executeTakeFirst();
      await endMaintenanceIncidents(trx, provider, now);
      return Number(ended.numUpdatedRows) > 0;
    });
  }
}

/** Closes the provider's open maintenance incident(s): a new window replaces one, an end ends it. */
async function endMaintenanceIncidents(trx: Trx, provider: string, now: string): Promise<void> {
  await trx
    .updateTable('incidents')
    .set({ ended_at: now })
    .where('provider', '=', provider)
    .where('kind', '=', 'maintenance')
    .where('ended_at', 'is', null)
    .execute();
}
