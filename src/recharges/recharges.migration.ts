import type { Kysely, Migration } from 'kysely';

/** Recharge orders, attempts, channel transactions, refunds, provider state, prevention settings. */
export const rechargesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('recharges')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('customer_id', 'text', (c) => c.notNull())
      .addColumn('amount', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('provider', 'text')
      .addColumn('failure_code', 'text')
      .addColumn('failure_retryable', 'integer')
      .addColumn('channel_message', 'text')
      .addColumn('source_masked', 'text', (c) => c.notNull())
      .addColumn('credential_token', 'text')
      .addColumn('request_key', 'text')
      .addColumn('is_auto', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('succeeded_at', 'text')
      .addUniqueConstraint('recharges_request', ['customer_id', 'request_key'])
      .execute();
    await db.schema.createIndex('recharges_customer').on('recharges').columns(['customer_id', 'id']).execute();

    await db.schema
      .createTable('recharge_attempts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('recharge_id', 'text', (c) => c.notNull().references('recharges.id'))
      .addColumn('customer_id', 'text', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('channel_txn_id', 'text')
      .addColumn('failure_code', 'text')
      .addColumn('channel_message', 'text')
      .addColumn('needs_review', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('resolved_at', 'text')
      .execute();
    await db.schema.createIndex('recharge_attempts_recharge').on('recharge_attempts').column('recharge_id').execute();

    // One row per money movement the channel reported: the dedupe key for notifications,
    // query results and statements alike, and what each collection became.
    await db.schema
      .createTable('channel_transactions')
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('channel_txn_id', 'text', (c) => c.notNull())
      .addColumn('attempt_id', 'text', (c) => c.notNull())
      .addColumn('recharge_id', 'text', (c) => c.notNull())
      .addColumn('customer_id', 'text', (c) => c.notNull())
      .addColumn('amount', 'bigint', (c) => c.notNull())
      .addColumn('disposition', 'text', (c) => c.notNull())
      .addColumn('refund_id', 'text')
      .addColumn('paid_at', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('channel_transactions_pk', ['provider', 'channel_txn_id'])
      .execute();
    await db.schema.createIndex('channel_transactions_recharge').on('channel_transactions').column('recharge_id').execute();

    await db.schema
      .createTable('recharge_daily_totals')
      .addColumn('customer_id', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('amount', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('recharge_daily_totals_pk', ['customer_id', 'day'])
      .execute();

    await db.schema
      .createTable('refunds')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('customer_id', 'text', (c) => c.notNull())
      .addColumn('recharge_id', 'text', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('channel_txn_id', 'text')
      .addColumn('amount', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('destination', 'text', (c) => c.notNull())
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('channel_refund_id', 'text')
      .addColumn('failure_reason', 'text')
      .addColumn('fallback', 'text')
      .addColumn('request_key', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('succeeded_at', 'text')
      .addUniqueConstraint('refunds_request', ['customer_id', 'request_key'])
      .execute();
    await db.schema.createIndex('refunds_customer').on('refunds').columns(['customer_id', 'id']).execute();
    await db.schema.createIndex('refunds_recharge').on('refunds').column('recharge_id').execute();

    await db.schema
      .createTable('refund_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('refund_id', 'text', (c) => c.notNull().references('refunds.id'))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('note', 'text')
      .addColumn('at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('refund_events_refund').on('refund_events').columns(['refund_id', 'id']).execute();

    await db.schema
      .createTable('provider_states')
      .addColumn('provider', 'text', (c) => c.primaryKey())
      .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('window_started_at', 'text')
      .addColumn('open_until', 'text')
      .addColumn('maintenance', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('maintenance_until', 'text')
      .addColumn('maintenance_message', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('incidents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('ends_at', 'text')
      .addColumn('ended_at', 'text')
      .execute();

    await db.schema
      .createTable('balance_settings')
      .addColumn('customer_id', 'text', (c) => c.primaryKey())
      .addColumn('reminder_threshold', 'bigint')
      .addColumn('auto_enabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('auto_threshold', 'bigint')
      .addColumn('auto_amount', 'bigint')
      .addColumn('auto_from_recharge_id', 'text')
      .addColumn('auto_in_flight_recharge_id', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    // Thresholds watched on the balance row itself, so a debit learns it crossed one from
    // the same guarded UPDATE … RETURNING, without another query on the hot path.
    await db.schema.alterTable('ledger_accounts').addColumn('reminder_threshold', 'bigint').execute();
    await db.schema.alterTable('ledger_accounts').addColumn('auto_recharge_threshold', 'bigint').execute();

    // Domain events (the outbox the notification dispatcher reads).
    await db.schema
      .createTable('events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('customer_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('subject_id', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('events_customer').on('events').columns(['customer_id', 'id']).execute();
  },
};
