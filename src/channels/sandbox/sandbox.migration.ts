import type { Kysely, Migration } from 'kysely';

/**
 * The sandbox channels' own books: what they collected, refunded, tokenised and notified.
 * They are the "other side" of Topup's records (what a real channel keeps on its servers), so
 * they live in their own `sandbox_` tables that Topup's code never reads directly, and a
 * restart forgets nothing. Times are RFC 3339 UTC strings on the service clock, as elsewhere.
 *
 * Only portable column types are used (text, bigint, integer; no auto-increment), so the
 * same statements run on SQLite and PostgreSQL.
 */
export const sandboxMigration: Migration = {
  async up(db: Kysely<unknown>) {
    // One row per payment order the channel accepted (keyed by our attempt id: the channel's
    // idempotency key). `result` is the answer given to the first pay() call, replayed to repeats.
    await db.schema
      .createTable('sandbox_payments')
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('attempt_id', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('amount', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('source_masked', 'text', (c) => c.notNull())
      .addColumn('credential_token', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('scenario', 'text', (c) => c.notNull())
      .addColumn('result', 'text', (c) => c.notNull())
      .addColumn('late_collect_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('sandbox_payments_pk', ['provider', 'attempt_id'])
      .execute();

    // Money actually taken from the payer: one row per channel transaction (two for a duplicate charge).
    await db.schema
      .createTable('sandbox_collections')
      .addColumn('channel_txn_id', 'text', (c) => c.primaryKey())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('attempt_id', 'text', (c) => c.notNull())
      .addColumn('amount', 'bigint', (c) => c.notNull())
      .addColumn('paid_at', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sandbox_collections_attempt').on('sandbox_collections').columns(['provider', 'attempt_id']).execute();
    await db.schema.createIndex('sandbox_collections_day').on('sandbox_collections').columns(['provider', 'paid_at']).execute();

    // Refund requests keyed by our refund id (the channel's idempotency key).
    // status: transient_failed (first call answered busy; not accepted) | processing | succeeded | refused
    await db.schema
      .createTable('sandbox_refunds')
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('refund_id', 'text', (c) => c.notNull())
      .addColumn('channel_refund_id', 'text', (c) => c.unique())
      .addColumn('channel_txn_id', 'text', (c) => c.notNull())
      .addColumn('amount', 'bigint', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('requested_at', 'text')
      .addColumn('settle_at', 'text')
      .addColumn('settled_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('sandbox_refunds_pk', ['provider', 'refund_id'])
      .execute();
    await db.schema.createIndex('sandbox_refunds_txn').on('sandbox_refunds').column('channel_txn_id').execute();
    await db.schema.createIndex('sandbox_refunds_settle').on('sandbox_refunds').columns(['provider', 'status', 'settle_at']).execute();

    // Stored-credential tokens (for auto-recharge): the masked source only, never card data.
    await db.schema
      .createTable('sandbox_credentials')
      .addColumn('token', 'text', (c) => c.primaryKey())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('source_masked', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();

    // Asynchronous notifications and their delivery state (resent until acknowledged).
    // status: pending | delivered | abandoned
    await db.schema
      .createTable('sandbox_notifications')
      .addColumn('notify_id', 'text', (c) => c.primaryKey())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('ref', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('delivered_at', 'text')
      .execute();
    await db.schema.createIndex('sandbox_notifications_ref').on('sandbox_notifications').columns(['provider', 'ref']).execute();
  },
};

export type SandboxPaymentsTable = {
  provider: string;
  attempt_id: string;
  method: string;
  amount: number;
  currency: string;
  /** `622202******0007` for cards, the payer account for wallets. */
  source_masked: string;
  credential_token: string | null;
  /** `paid` (collected) | `unpaid` (open; a late collection is due) | `closed` (never will be paid). */
  status: string;
  /** Which behaviour the channel chose: `normal`, a trigger amount, or a random fault. */
  scenario: string;
  /** JSON of the answer given to the first pay() call. */
  result: string;
  late_collect_at: string | null;
  created_at: string;
  updated_at: string;
};

export type SandboxCollectionsTable = {
  channel_txn_id: string;
  provider: string;
  attempt_id: string;
  amount: number;
  paid_at: string;
  created_at: string;
};

export type SandboxRefundsTable = {
  provider: string;
  refund_id: string;
  channel_refund_id: string | null;
  channel_txn_id: string;
  amount: number;
  status: string;
  reason: string | null;
  requested_at: string | null;
  settle_at: string | null;
  settled_at: string | null;
  created_at: string;
  updated_at: string;
};

export type SandboxCredentialsTable = {
  token: string;
  provider: string;
  method: string;
  source_masked: string;
  created_at: string;
};

export type SandboxNotificationsTable = {
  notify_id: string;
  provider: string;
  event: string;
  /** The attempt id (payments) or refund id (refunds) it is about. */
  ref: string;
  /** The exact JSON body sent (stable across resends, so the notify id and content never change). */
  body: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
};

/** The sandbox's tables, added to the store's Kysely type with `db.withTables<SandboxTables>()`. */
export type SandboxTables = {
  sandbox_payments: SandboxPaymentsTable;
  sandbox_collections: SandboxCollectionsTable;
  sandbox_refunds: SandboxRefundsTable;
  sandbox_credentials: SandboxCredentialsTable;
  sandbox_notifications: SandboxNotificationsTable;
};
