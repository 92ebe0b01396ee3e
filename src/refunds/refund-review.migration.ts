import type { Kysely, Migration } from 'kysely';

/** Refund applications and their review: evidence, SLA, escalation, compensation. */
export const refundReviewMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('refunds').addColumn('money_source', 'text').execute();
    await db.schema.alterTable('refunds').addColumn('assignee_id', 'text').execute();
    await db.schema
      .alterTable('refunds')
      .addColumn('escalation_level', 'integer', (c) => c.notNull().defaultTo(1))
      .execute();
    await db.schema.alterTable('refunds').addColumn('sla_due_at', 'text').execute();
    await db.schema
      .alterTable('refunds')
      .addColumn('sla_breached', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable('refunds').addColumn('checks', 'text').execute();
    await db.schema.alterTable('refunds').addColumn('paid_at', 'text').execute();
    await db.schema.alterTable('refunds').addColumn('channel_txn_no', 'text').execute();
    await db.schema.alterTable('refunds').addColumn('decided_at', 'text').execute();
    await db.schema.alterTable('refunds').addColumn('decided_by', 'text').execute();
    await db.schema.alterTable('refunds').addColumn('rejection_reason', 'text').execute();
    await db.schema.createIndex('refunds_status_sla').on('refunds').columns(['status', 'sla_due_at']).execute();

    // One active application per recharge, enforced by a primary key rather than a read.
    await db.schema
      .createTable('refund_application_locks')
      .addColumn('recharge_id', 'text', (c) => c.primaryKey())
      .addColumn('refund_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('evidence')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('customer_id', 'text', (c) => c.notNull())
      .addColumn('refund_id', 'text')
      .addColumn('filename', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('content_type', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('storage_name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('evidence_customer').on('evidence').column('customer_id').execute();
    await db.schema.createIndex('evidence_refund').on('evidence').column('refund_id').execute();

    await db.schema
      .createTable('compensations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('customer_id', 'text', (c) => c.notNull())
      .addColumn('amount', 'bigint', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('refund_id', 'text')
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('request_key', 'text')
      .addColumn('transaction_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('compensations_request', ['actor', 'request_key'])
      .execute();
    await db.schema.createIndex('compensations_customer').on('compensations').column('customer_id').execute();
  },
};
