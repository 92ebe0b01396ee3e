import { randomBytes } from 'node:crypto';
import type { Context } from '../../context.js';
import type { ErrorCode } from '../../domain/errors.js';
import { enqueueJob } from '../../jobs/job-queue.js';
import type { Trx } from '../../store/database.js';
import { inTransaction, isUniqueViolation } from '../../store/transaction.js';
import {
  ChannelFault,
  type ChannelNotification,
  type PaymentChannel,
  type PaymentMethod,
  type PaymentStatus,
  type PayRequest,
  type PayResult,
  type RefundRequest,
  type RefundResult,
  type RefundStatus,
  type StatementLine,
} from '../payment-channel.js';
import { drawPayFault, type RandomPayFault, type SandboxFaults, SeededRandom } from './faults.js';
import { createNotification, verifySandboxNotification } from './notifications.js';
import type { SandboxPaymentsTable, SandboxRefundsTable, SandboxTables } from './sandbox.migration.js';

/**
 * Amount triggers (fen), normative in the contract's Sandbox section:
 *   6601 busy on every provider but sandbox_unionpay_b (which collects normally)
 *   6611 busy on every provider
 *   6602 collected, answer times out; notification 2 min later
 *   6603 nothing collected (order closed), answer times out
 *   6604 declined INSUFFICIENT_FUNDS       6605 declined LIMIT_EXCEEDED
 *   6606 collects twice (two txns, two notifications), answers with the first
 *   6607 collects, answers processing, never notifies
 *   6608 refunds of this payment: the first call per refund id answers busy, a retry is accepted
 *   6609 refunds of this payment are refused (payer account closed)
 *   6610 declined SYSTEM_BUSY at once; collects and notifies 10 min later
 */
export const TRIGGERS = {
  BUSY_EXCEPT_B: 6601,
  TIMEOUT_COLLECTED: 6602,
  TIMEOUT_CLOSED: 6603,
  INSUFFICIENT_FUNDS: 6604,
  LIMIT_EXCEEDED: 6605,
  DUPLICATE: 6606,
  LOST_NOTIFY: 6607,
  REFUND_FAILS_ONCE: 6608,
  REFUND_REFUSED: 6609,
  LATE: 6610,
  BUSY_EVERYWHERE: 6611,
} as const;
const TRIGGER_AMOUNTS = new Set<number>(Object.values(TRIGGERS));

/** The delay after which a normal payment's notification goes out (real channels notify shortly after answering). */
const NOTIFY_DELAY_MS = 1_000;
/** 6602: the notification comes late, so Topup's resolver (which queries) normally finds the payment first. */
const TIMEOUT_NOTIFY_DELAY_MS = 2 * 60_000;
/** 6610: the late collection. */
const LATE_COLLECT_MS = 10 * 60_000;
/** Refunds settle this long after the request: wallets in minutes, cards within a day (contract: ≤ 3 days; automatic refunds ≤ 24 h). */
const WALLET_REFUND_SETTLE_MS = 2 * 60_000;
const CARD_REFUND_SETTLE_MS = 20 * 3600_000;

export const LATE_COLLECT_JOB = 'sandbox.late_collect';
export const SETTLE_REFUND_JOB = 'sandbox.settle_refund';

export interface SandboxProviderSpec {
  provider: string;
  methods: readonly PaymentMethod[];
  /** Short code in channel transaction ids. */
  code: string;
  wallet: boolean;
}

/** The four sandbox providers, in the router's priority order. */
export const SANDBOX_PROVIDERS: readonly SandboxProviderSpec[] = [
  { provider: 'sandbox_unionpay_a', methods: ['bank_card', 'credit_card'], code: 'UPA', wallet: false },
  { provider: 'sandbox_unionpay_b', methods: ['bank_card', 'credit_card'], code: 'UPB', wallet: false },
  { provider: 'sandbox_alipay', methods: ['alipay'], code: 'ALI', wallet: true },
  { provider: 'sandbox_wechat', methods: ['wechat_pay'], code: 'WXP', wallet: true },
];

/** What pay() answered the first time, replayed to repeats of the same attempt id. */
type StoredResult =
  | { type: 'succeeded'; channelTxnId: string; paidAt: string; credentialToken: string | null }
  | { type: 'processing'; channelTxnId: string | null }
  | { type: 'declined'; code: ErrorCode; retryable: boolean; channelMessage: string }
  | { type: 'timeout' };

type Scenario =
  | 'normal'
  | 'busy'
  | 'timeout_collected'
  | 'timeout_closed'
  | 'insufficient_funds'
  | 'limit_exceeded'
  | 'duplicate'
  | 'lost_notify'
  | 'late';

export function maskCardNumber(cardNumber: string): string {
  const digits = cardNumber.replace(/[\s-]/g, '');
  return `${digits.slice(0, 6)}******${digits.slice(-4)}`;
}

function compactTime(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:TZ.]/g, '')
    .slice(0, 14);
}

function sandboxDb(ctx: Context) {
  return ctx.store.db.withTables<SandboxTables>();
}

function specOf(provider: string): SandboxProviderSpec {
  const spec = SANDBOX_PROVIDERS.find((p) => p.provider === provider);
  if (!spec) throw new Error(`unknown sandbox provider ${provider}`);
  return spec;
}

function newTxnId(spec: SandboxProviderSpec, now: Date): string {
  return `${spec.code}${compactTime(now)}${randomBytes(8).toString('hex').toUpperCase()}`;
}

function newRefundId(spec: SandboxProviderSpec, now: Date): string {
  return `${spec.code}R${compactTime(now)}${randomBytes(8).toString('hex').toUpperCase()}`;
}

/** Records one collection (money taken from the payer) and, unless silent, its payment.succeeded notification. */
async function collect(
  ctx: Context,
  trx: Trx,
  payment: Pick<SandboxPaymentsTable, 'provider' | 'attempt_id' | 'amount'>,
  paidAt: Date,
  notifyAt: Date | null,
): Promise<string> {
  const spec = specOf(payment.provider);
  const channelTxnId = newTxnId(spec, paidAt);
  await trx
    .withTables<SandboxTables>()
    .insertInto('sandbox_collections')
    .values({
      channel_txn_id: channelTxnId,
      provider: payment.provider,
      attempt_id: payment.attempt_id,
      amount: payment.amount,
      paid_at: paidAt.toISOString(),
      created_at: ctx.clock.now().toISOString(),
    })
    .execute();
  if (notifyAt) {
    await createNotification(
      ctx,
      trx,
      {
        event: 'payment.succeeded',
        provider: payment.provider,
        attempt_id: payment.attempt_id,
        channel_txn_id: channelTxnId,
        amount: payment.amount,
        currency: 'CNY',
        paid_at: paidAt.toISOString(),
      },
      notifyAt,
    );
  }
  return channelTxnId;
}

async function issueCredential(ctx: Context, trx: Trx, provider: string, method: string, sourceMasked: string): Promise<string> {
  // Time first, like the ids channels hand out: tokens land at the end of their index instead
  // of on a random page of it (a random page per recharge made every commit larger as the
  // table grew); the 16 random bytes keep them unguessable.
  const token = `tok_${compactTime(ctx.clock.now())}${randomBytes(16).toString('hex')}`;
  await trx
    .withTables<SandboxTables>()
    .insertInto('sandbox_credentials')
    .values({ token, provider, method, source_masked: sourceMasked, created_at: ctx.clock.now().toISOString() })
    .execute();
  return token;
}

/**
 * 6610 / random `late`: the collection that comes after the channel answered "failed". Run by
 * the `sandbox.late_collect` job at its time, or lazily by a query after that time; idempotent
 * (the status guard lets exactly one caller collect).
 */
export async function lateCollect(ctx: Context, provider: string, attemptId: string): Promise<boolean> {
  const now = ctx.clock.now();
  return inTransaction(ctx.store, async (trx) => {
    const db = trx.withTables<SandboxTables>();
    const payment = await db
      .updateTable('sandbox_payments')
      .set({ status: 'paid', updated_at: now.toISOString() })
      .where('provider', '=', provider)
      .where('attempt_id', '=', attemptId)
      .where('status', '=', 'unpaid')
      .where('late_collect_at', '<=', now.toISOString())
      .returningAll()
      .executeTakeFirst();
    if (!payment) return false;
    const paidAt = new Date(payment.late_collect_at ?? now.toISOString());
    await collect(ctx, trx, payment, paidAt, now);
    if (!payment.credential_token) {
      const token = await issueCredential(ctx, trx, provider, payment.method, payment.source_masked);
      await db
        .updateTable('sandbox_payments')
        .set({ credential_token: token })
        .where('provider', '=', provider)
        .where('attempt_id', '=', attemptId)
        .execute();
    }
    return true;
  });
}

/**
 * Settles an accepted refund once its settle time has passed: marks it succeeded (at the
 * settle time) and sends refund.succeeded. Idempotent; run by the `sandbox.settle_refund` job
 * or lazily by queryRefund/statement.
 */
export async function settleRefund(ctx: Context, provider: string, refundId: string): Promise<boolean> {
  const now = ctx.clock.now();
  return inTransaction(ctx.store, async (trx) => {
    const row = await trx
      .withTables<SandboxTables>()
      .updateTable('sandbox_refunds')
      .set((eb) => ({ status: 'succeeded', settled_at: eb.ref('settle_at'), updated_at: now.toISOString() }))
      .where('provider', '=', provider)
      .where('refund_id', '=', refundId)
      .where('status', '=', 'processing')
      .where('settle_at', '<=', now.toISOString())
      .returningAll()
      .executeTakeFirst();
    if (!row) return false;
    await createNotification(
      ctx,
      trx,
      {
        event: 'refund.succeeded',
        provider,
        refund_id: row.refund_id,
        channel_refund_id: row.channel_refund_id ?? '',
        amount: row.amount,
      },
      now,
    );
    return true;
  });
}

function toPayResult(stored: StoredResult): PayResult {
  switch (stored.type) {
    case 'succeeded':
      return {
        outcome: 'succeeded',
        channelTxnId: stored.channelTxnId,
        paidAt: new Date(stored.paidAt),
        credentialToken: stored.credentialToken,
      };
    case 'processing':
      return { outcome: 'processing', channelTxnId: stored.channelTxnId };
    case 'declined':
      return { outcome: 'declined', code: stored.code, retryable: stored.retryable, channelMessage: stored.channelMessage };
    case 'timeout':
      throw new ChannelFault('timeout', 'sandbox: the channel did not answer in time');
  }
}

function declined(code: ErrorCode, retryable: boolean, channelMessage: string): StoredResult {
  return { type: 'declined', code, retryable, channelMessage };
}

function csvCell(value: string | number): string {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const STATEMENT_HEADER = 'type,channel_txn_id,merchant_ref,amount,currency,time';

/**
 * A sandbox payment channel that behaves like a real one: it keeps its own persisted books
 * (`sandbox_*` tables), answers idempotently per attempt id and refund id, notifies
 * asynchronously over real HTTP with signatures, settles refunds later on the service clock,
 * and exports daily statements. Failures come from the amount triggers or, in random-fault
 * mode, from a seeded PRNG.
 */
export class SandboxChannel implements PaymentChannel {
  readonly provider: string;
  readonly methods: readonly PaymentMethod[];
  private readonly spec: SandboxProviderSpec;
  private readonly random: SeededRandom | null;

  constructor(
    private readonly ctx: Context,
    spec: SandboxProviderSpec,
    private readonly faults: SandboxFaults | null,
  ) {
    this.spec = spec;
    this.provider = spec.provider;
    this.methods = spec.methods;
    this.random = faults ? new SeededRandom(faults.seed, spec.provider) : null;
  }

  private scenarioFor(amount: number): Scenario {
    switch (amount) {
      case TRIGGERS.BUSY_EXCEPT_B:
        return this.provider === 'sandbox_unionpay_b' ? 'normal' : 'busy';
      case TRIGGERS.BUSY_EVERYWHERE:
        return 'busy';
      case TRIGGERS.TIMEOUT_COLLECTED:
        return 'timeout_collected';
      case TRIGGERS.TIMEOUT_CLOSED:
        return 'timeout_closed';
      case TRIGGERS.INSUFFICIENT_FUNDS:
        return 'insufficient_funds';
      case TRIGGERS.LIMIT_EXCEEDED:
        return 'limit_exceeded';
      case TRIGGERS.DUPLICATE:
        return 'duplicate';
      case TRIGGERS.LOST_NOTIFY:
        return 'lost_notify';
      case TRIGGERS.LATE:
        return 'late';
    }
    if (TRIGGER_AMOUNTS.has(amount) || !this.faults || !this.random) return 'normal';
    const fault: RandomPayFault = drawPayFault(this.faults, this.random);
    return fault ?? 'normal';
  }

  private async findPayment(attemptId: string): Promise<SandboxPaymentsTable | undefined> {
    return sandboxDb(this.ctx)
      .selectFrom('sandbox_payments')
      .selectAll()
      .where('provider', '=', this.provider)
      .where('attempt_id', '=', attemptId)
      .executeTakeFirst();
  }

  /** The payer's source as the channel sees it: a masked card, a wallet account or a stored credential. */
  private async checkSource(request: PayRequest): Promise<{ masked: string; token: string | null } | { decline: StoredResult }> {
    const source = request.source;
    if (source.kind === 'card') {
      // The verification code is checked here and never leaves this call (not stored, not logged).
      if (source.verificationCode === '000') {
        return { decline: declined('VERIFICATION_CODE_INVALID', false, 'sandbox: verification code does not match') };
      }
      return { masked: maskCardNumber(source.cardNumber), token: null };
    }
    if (source.kind === 'wallet') {
      if (source.payerAccount.trim().toLowerCase() === 'invalid@sandbox') {
        return { decline: declined('ACCOUNT_INFO_INVALID', false, 'sandbox: payer account does not exist') };
      }
      return { masked: source.payerAccount, token: null };
    }
    const credential = await sandboxDb(this.ctx)
      .selectFrom('sandbox_credentials')
      .selectAll()
      .where('token', '=', source.token)
      .executeTakeFirst();
    if (!credential || credential.provider !== this.provider || credential.method !== request.method) {
      return { decline: declined('ACCOUNT_INFO_INVALID', false, 'sandbox: stored credential is unknown to this provider') };
    }
    return { masked: credential.source_masked, token: credential.token };
  }

  async pay(request: PayRequest): Promise<PayResult> {
    if (!this.methods.includes(request.method)) {
      throw new Error(`${this.provider} does not take ${request.method}`);
    }
    const existing = await this.findPayment(request.attemptId);
    if (existing) return toPayResult(JSON.parse(existing.result) as StoredResult);

    const scenario = this.scenarioFor(request.amount);
    // An internal error before the order is recorded: nothing collected, the channel never saw it.
    if (scenario === 'busy') throw new ChannelFault('busy', 'sandbox: internal error (系统繁忙)');

    const source = await this.checkSource(request);
    let stored: StoredResult;
    try {
      stored = await inTransaction(this.ctx.store, (trx) => this.recordPayment(trx, request, scenario, source));
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // A concurrent call with the same attempt id won: answer what it answered.
      const first = await this.findPayment(request.attemptId);
      if (!first) throw error;
      stored = JSON.parse(first.result) as StoredResult;
    }
    return toPayResult(stored);
  }

  private async recordPayment(
    trx: Trx,
    request: PayRequest,
    scenario: Scenario,
    source: { masked: string; token: string | null } | { decline: StoredResult },
  ): Promise<StoredResult> {
    const now = this.ctx.clock.now();
    const nowIso = now.toISOString();
    const db = trx.withTables<SandboxTables>();
    const base: SandboxPaymentsTable = {
      provider: this.provider,
      attempt_id: request.attemptId,
      method: request.method,
      amount: request.amount,
      currency: request.currency,
      source_masked: 'masked' in source ? source.masked : '',
      credential_token: 'masked' in source ? source.token : null,
      status: 'closed',
      scenario,
      result: '',
      late_collect_at: null,
      created_at: nowIso,
      updated_at: nowIso,
    };
    const insert = async (row: SandboxPaymentsTable, result: StoredResult) => {
      await db
        .insertInto('sandbox_payments')
        .values({ ...row, result: JSON.stringify(result) })
        .execute();
      return result;
    };

    if ('decline' in source) return insert({ ...base, scenario: 'declined_source' }, source.decline);
    if (scenario === 'insufficient_funds') {
      return insert(base, declined('INSUFFICIENT_FUNDS', false, 'sandbox: insufficient funds in the payer account'));
    }
    if (scenario === 'limit_exceeded') {
      return insert(base, declined('LIMIT_EXCEEDED', false, 'sandbox: payer limit exceeded'));
    }
    if (scenario === 'timeout_closed') {
      return insert(base, { type: 'timeout' });
    }
    if (scenario === 'late') {
      const lateAt = new Date(now.getTime() + LATE_COLLECT_MS);
      await enqueueJob(
        trx,
        {
          type: LATE_COLLECT_JOB,
          payload: { provider: this.provider, attemptId: request.attemptId },
          runAt: lateAt,
          dedupeKey: `${LATE_COLLECT_JOB}:${this.provider}:${request.attemptId}`,
        },
        now,
      );
      return insert(
        { ...base, status: 'unpaid', late_collect_at: lateAt.toISOString() },
        declined('SYSTEM_BUSY', true, 'sandbox: system busy, payment not completed'),
      );
    }

    // Every remaining scenario collects now.
    const token = base.credential_token ?? (await issueCredential(this.ctx, trx, this.provider, request.method, base.source_masked));
    const row = { ...base, status: 'paid', credential_token: token };
    const notifyAt =
      scenario === 'lost_notify'
        ? null
        : new Date(now.getTime() + (scenario === 'timeout_collected' ? TIMEOUT_NOTIFY_DELAY_MS : NOTIFY_DELAY_MS));
    // The payment row first: a concurrent duplicate of this attempt fails here, before collecting.
    const placeholder: StoredResult = { type: 'processing', channelTxnId: null };
    await insert(row, placeholder);
    const first = await collect(this.ctx, trx, row, now, notifyAt);
    if (scenario === 'duplicate') await collect(this.ctx, trx, row, now, notifyAt);

    const result: StoredResult =
      scenario === 'timeout_collected'
        ? { type: 'timeout' }
        : scenario === 'lost_notify'
          ? { type: 'processing', channelTxnId: first }
          : { type: 'succeeded', channelTxnId: first, paidAt: nowIso, credentialToken: token };
    await db
      .updateTable('sandbox_payments')
      .set({ result: JSON.stringify(result) })
      .where('provider', '=', this.provider)
      .where('attempt_id', '=', request.attemptId)
      .execute();
    return result;
  }

  /**
   * The merchant closes an order the channel never saw: a pay call with this attempt id that
   * arrives afterwards is answered from this row ("closed") and collects nothing.
   */
  async close(attemptId: string): Promise<PaymentStatus> {
    const nowIso = this.ctx.clock.now().toISOString();
    const result: StoredResult = declined('CHANNEL_TIMEOUT', true, 'sandbox: the merchant closed this order');
    await sandboxDb(this.ctx)
      .insertInto('sandbox_payments')
      .values({
        provider: this.provider,
        attempt_id: attemptId,
        method: this.methods[0] ?? '',
        amount: 0,
        currency: 'CNY',
        source_masked: '',
        credential_token: null,
        status: 'closed',
        scenario: 'closed_by_merchant',
        result: JSON.stringify(result),
        late_collect_at: null,
        created_at: nowIso,
        updated_at: nowIso,
      })
      .onConflict((oc) => oc.columns(['provider', 'attempt_id']).doNothing())
      .execute();
    return this.query(attemptId);
  }

  async query(attemptId: string): Promise<PaymentStatus> {
    let payment = await this.findPayment(attemptId);
    if (!payment) return { status: 'not_found', collections: [], credentialToken: null };
    if (payment.status === 'unpaid' && payment.late_collect_at !== null && payment.late_collect_at <= this.ctx.clock.now().toISOString()) {
      await lateCollect(this.ctx, this.provider, attemptId);
      payment = (await this.findPayment(attemptId)) ?? payment;
    }
    const collections = await sandboxDb(this.ctx)
      .selectFrom('sandbox_collections')
      .selectAll()
      .where('provider', '=', this.provider)
      .where('attempt_id', '=', attemptId)
      .orderBy('paid_at')
      .orderBy('created_at')
      .orderBy('channel_txn_id')
      .execute();
    const status = payment.status === 'paid' ? 'paid' : payment.status === 'unpaid' ? 'unpaid' : 'closed';
    return {
      status,
      collections: collections.map((c) => ({ channelTxnId: c.channel_txn_id, amount: Number(c.amount), paidAt: new Date(c.paid_at) })),
      credentialToken: status === 'paid' ? payment.credential_token : null,
    };
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    const decision = await this.decideRefund(request).catch(async (error: unknown) => {
      if (!isUniqueViolation(error)) throw error;
      // A concurrent call with the same refund id recorded its answer first: decide again, now seeing it.
      return this.decideRefund(request);
    });
    if (decision.outcome === 'transient') throw new ChannelFault('busy', 'sandbox: refund system busy, try again');
    return decision;
  }

  private async decideRefund(request: RefundRequest): Promise<RefundResult | { outcome: 'transient' }> {
    return inTransaction(this.ctx.store, async (trx) => {
      const db = trx.withTables<SandboxTables>();
      const now = this.ctx.clock.now();
      const nowIso = now.toISOString();
      // Lock the collection first (PostgreSQL) so two refunds of one transaction cannot both pass the remainder check.
      let collectionQuery = db
        .selectFrom('sandbox_collections')
        .selectAll()
        .where('channel_txn_id', '=', request.channelTxnId)
        .where('provider', '=', this.provider);
      if (this.ctx.store.dialect === 'postgres') collectionQuery = collectionQuery.forUpdate();
      const collection = await collectionQuery.executeTakeFirst();

      const existing = await db
        .selectFrom('sandbox_refunds')
        .selectAll()
        .where('provider', '=', this.provider)
        .where('refund_id', '=', request.refundId)
        .executeTakeFirst();
      if (existing && existing.status !== 'transient_failed') return this.refundAnswer(existing);

      const refuse = async (reason: string): Promise<RefundResult> => {
        const row: SandboxRefundsTable = {
          provider: this.provider,
          refund_id: request.refundId,
          channel_refund_id: null,
          channel_txn_id: request.channelTxnId,
          amount: request.amount,
          status: 'refused',
          reason,
          requested_at: nowIso,
          settle_at: null,
          settled_at: null,
          created_at: nowIso,
          updated_at: nowIso,
        };
        if (existing) {
          await db
            .updateTable('sandbox_refunds')
            .set({ status: 'refused', reason, updated_at: nowIso })
            .where('provider', '=', this.provider)
            .where('refund_id', '=', request.refundId)
            .execute();
        } else {
          await db.insertInto('sandbox_refunds').values(row).execute();
        }
        return { outcome: 'refused', reason };
      };

      if (!collection) return refuse('unknown channel transaction');
      if (!Number.isSafeInteger(request.amount) || request.amount <= 0) return refuse('refund amount must be positive');
      const refunded = await db
        .selectFrom('sandbox_refunds')
        .select((eb) => eb.fn.sum<number | string | null>('amount').as('total'))
        .where('channel_txn_id', '=', request.channelTxnId)
        .where('provider', '=', this.provider)
        .where('status', 'in', ['processing', 'succeeded'])
        .executeTakeFirst();
      const remaining = Number(collection.amount) - Number(refunded?.total ?? 0);
      if (request.amount > remaining) return refuse(`refund amount exceeds the refundable remainder (${remaining})`);

      const payment = await db
        .selectFrom('sandbox_payments')
        .select(['amount', 'method'])
        .where('provider', '=', this.provider)
        .where('attempt_id', '=', collection.attempt_id)
        .executeTakeFirst();
      const paymentAmount = Number(payment?.amount ?? collection.amount);
      if (paymentAmount === TRIGGERS.REFUND_REFUSED) return refuse('payer account closed');

      if (!existing) {
        const transient =
          paymentAmount === TRIGGERS.REFUND_FAILS_ONCE ||
          (!TRIGGER_AMOUNTS.has(paymentAmount) &&
            this.faults !== null &&
            this.random !== null &&
            this.random.next() < this.faults.refundFail);
        if (transient) {
          await db
            .insertInto('sandbox_refunds')
            .values({
              provider: this.provider,
              refund_id: request.refundId,
              channel_refund_id: null,
              channel_txn_id: request.channelTxnId,
              amount: request.amount,
              status: 'transient_failed',
              reason: 'refund system busy',
              requested_at: nowIso,
              settle_at: null,
              settled_at: null,
              created_at: nowIso,
              updated_at: nowIso,
            })
            .execute();
          return { outcome: 'transient' as const };
        }
      }

      const channelRefundId = newRefundId(this.spec, now);
      const settleAt = new Date(now.getTime() + (this.spec.wallet ? WALLET_REFUND_SETTLE_MS : CARD_REFUND_SETTLE_MS));
      const accepted = {
        channel_refund_id: channelRefundId,
        channel_txn_id: request.channelTxnId,
        amount: request.amount,
        status: 'processing',
        reason: null,
        requested_at: nowIso,
        settle_at: settleAt.toISOString(),
        settled_at: null,
        updated_at: nowIso,
      };
      if (existing) {
        await db
          .updateTable('sandbox_refunds')
          .set(accepted)
          .where('provider', '=', this.provider)
          .where('refund_id', '=', request.refundId)
          .where('status', '=', 'transient_failed')
          .execute();
      } else {
        await db
          .insertInto('sandbox_refunds')
          .values({ ...accepted, provider: this.provider, refund_id: request.refundId, created_at: nowIso })
          .execute();
      }
      await enqueueJob(
        trx,
        {
          type: SETTLE_REFUND_JOB,
          payload: { provider: this.provider, refundId: request.refundId },
          runAt: settleAt,
          dedupeKey: `${SETTLE_REFUND_JOB}:${this.provider}:${request.refundId}`,
        },
        now,
      );
      return { outcome: 'accepted' as const, channelRefundId };
    });
  }

  private refundAnswer(row: SandboxRefundsTable): RefundResult {
    if (row.status === 'refused') return { outcome: 'refused', reason: row.reason ?? 'refused' };
    return { outcome: 'accepted', channelRefundId: row.channel_refund_id ?? '' };
  }

  private async findRefund(refundId: string): Promise<SandboxRefundsTable | undefined> {
    return sandboxDb(this.ctx)
      .selectFrom('sandbox_refunds')
      .selectAll()
      .where('provider', '=', this.provider)
      .where('refund_id', '=', refundId)
      .executeTakeFirst();
  }

  async queryRefund(refundId: string): Promise<RefundStatus> {
    let row = await this.findRefund(refundId);
    if (row?.status === 'processing' && row.settle_at !== null && row.settle_at <= this.ctx.clock.now().toISOString()) {
      await settleRefund(this.ctx, this.provider, refundId);
      row = (await this.findRefund(refundId)) ?? row;
    }
    if (!row || row.status === 'transient_failed') return { status: 'not_found', channelRefundId: null, settledAt: null, reason: null };
    if (row.status === 'refused') return { status: 'failed', channelRefundId: null, settledAt: null, reason: row.reason };
    return {
      status: row.status === 'succeeded' ? 'succeeded' : 'processing',
      channelRefundId: row.channel_refund_id,
      settledAt: row.settled_at ? new Date(row.settled_at) : null,
      reason: null,
    };
  }

  async verifyNotification(headers: Record<string, string | string[] | undefined>, rawBody: string): Promise<ChannelNotification> {
    return verifySandboxNotification(this.ctx, this.provider, headers, rawBody);
  }

  /** Brings the books up to "now" before a statement: due refunds settle, due late collections happen. */
  private async catchUp(): Promise<void> {
    const nowIso = this.ctx.clock.now().toISOString();
    const db = sandboxDb(this.ctx);
    const dueRefunds = await db
      .selectFrom('sandbox_refunds')
      .select('refund_id')
      .where('provider', '=', this.provider)
      .where('status', '=', 'processing')
      .where('settle_at', '<=', nowIso)
      .execute();
    for (const r of dueRefunds) await settleRefund(this.ctx, this.provider, r.refund_id);
    const dueLate = await db
      .selectFrom('sandbox_payments')
      .select('attempt_id')
      .where('provider', '=', this.provider)
      .where('status', '=', 'unpaid')
      .where('late_collect_at', '<=', nowIso)
      .execute();
    for (const p of dueLate) await lateCollect(this.ctx, this.provider, p.attempt_id);
  }

  /**
   * The statement of one calendar day in Asia/Shanghai: every collection (merchant_ref = our
   * attempt id) and every settled refund (channel_txn_id = the channel's refund id,
   * merchant_ref = our refund id) in that day, oldest first. Amounts are positive fen; `type`
   * gives the direction.
   */
  async statement(date: string): Promise<{ csv: string; lines: StatementLine[] }> {
    const start = /^\d{4}-\d{2}-\d{2}$/.test(date) ? new Date(`${date}T00:00:00+08:00`) : new Date(Number.NaN);
    if (Number.isNaN(start.getTime()) || new Date(start.getTime() + 8 * 3600_000).toISOString().slice(0, 10) !== date) {
      throw new Error(`statement date must be a calendar day YYYY-MM-DD, got "${date}"`);
    }
    await this.catchUp();
    const from = start.toISOString();
    const to = new Date(start.getTime() + 86_400_000).toISOString();
    const db = sandboxDb(this.ctx);
    const payments = await db
      .selectFrom('sandbox_collections')
      .selectAll()
      .where('provider', '=', this.provider)
      .where('paid_at', '>=', from)
      .where('paid_at', '<', to)
      .execute();
    const refunds = await db
      .selectFrom('sandbox_refunds')
      .selectAll()
      .where('provider', '=', this.provider)
      .where('status', '=', 'succeeded')
      .where('settled_at', '>=', from)
      .where('settled_at', '<', to)
      .execute();
    const lines: StatementLine[] = [
      ...payments.map((c) => ({
        kind: 'payment' as const,
        channelTxnId: c.channel_txn_id,
        merchantRef: c.attempt_id,
        amount: Number(c.amount),
        at: new Date(c.paid_at),
      })),
      ...refunds.map((r) => ({
        kind: 'refund' as const,
        channelTxnId: r.channel_refund_id ?? '',
        merchantRef: r.refund_id,
        amount: Number(r.amount),
        at: new Date(r.settled_at ?? r.updated_at),
      })),
    ].sort((a, b) => a.at.getTime() - b.at.getTime() || a.channelTxnId.localeCompare(b.channelTxnId));
    const csv = [
      STATEMENT_HEADER,
      ...lines.map((l) => [l.kind, l.channelTxnId, l.merchantRef, l.amount, 'CNY', l.at.toISOString()].map(csvCell).join(',')),
    ].join('\n');
    return { csv: `${csv}\n`, lines };
  }
}
