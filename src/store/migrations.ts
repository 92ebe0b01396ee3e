import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { sandboxMigration } from '../channels/sandbox/sandbox.migration.js';
import { notificationsMigration } from '../notifications/notifications.migration.js';
import { rechargesMigration } from '../recharges/recharges.migration.js';
import { refundReviewMigration } from '../refunds/refund-review.migration.js';
import type { Dialect } from './database.js';

/**
 * One set of migrations for both dialects. The only difference is how an auto-increment
 * key is spelt; everything else is portable SQL through Kysely's schema builder.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001_foundation': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('phone', 'text')
          .addColumn('name', 'text')
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('locale', 'text', (c) => c.notNull().defaultTo('zh-CN'))
          .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('sessions')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

        await db.schema
          .createTable('ledger_accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('customer_id', 'text')
          .addColumn('balance', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('ledger_accounts_customer').on('ledger_accounts').column('customer_id').execute();

        await db.schema
          .createTable('ledger_transactions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('ref', 'text')
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('customer_id', 'text')
          .addColumn('memo', 'text')
          // A transaction is reversed at most once: the unique key makes a second reversal fail.
          .addColumn('reverses', 'text', (c) => c.unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('ledger_transactions_ref').on('ledger_transactions').column('ref').execute();

        await db.schema
          .createTable('ledger_postings')
          .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('transaction_id', 'text', (c) => c.notNull().references('ledger_transactions.id'))
          .addColumn('account_id', 'text', (c) => c.notNull().references('ledger_accounts.id'))
          .addColumn('amount', 'bigint', (c) => c.notNull())
          .addColumn('balance_after', 'bigint')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('ledger_postings_account').on('ledger_postings').columns(['account_id', 'seq']).execute();
        await db.schema.createIndex('ledger_postings_txn').on('ledger_postings').column('transaction_id').execute();

        await db.schema
          .createTable('idempotency_keys')
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('fingerprint', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('response_status', 'integer')
          .addColumn('response_body', 'text')
          .addColumn('locked_until', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('idempotency_keys_pk', ['scope', 'key'])
          .execute();
        await db.schema.createIndex('idempotency_keys_expiry').on('idempotency_keys').column('expires_at').execute();

        await db.schema
          .createTable('jobs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('run_at', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('max_attempts', 'integer', (c) => c.notNull())
          .addColumn('last_error', 'text')
          .addColumn('locked_by', 'text')
          .addColumn('locked_until', 'text')
          .addColumn('dedupe_key', 'text', (c) => c.unique())
          .addColumn('repeat_seconds', 'integer')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('jobs_due').on('jobs').columns(['status', 'run_at']).execute();

        await db.schema
          .createTable('audit_log')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target_type', 'text', (c) => c.notNull())
          .addColumn('target_id', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_log_target').on('audit_log').columns(['target_type', 'target_id']).execute();

        await db.schema
          .createTable('purchases')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('customer_id', 'text', (c) => c.notNull())
          .addColumn('amount', 'bigint', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('request_key', 'text')
          .addColumn('transaction_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          // The idempotency key is part of the purchase itself, so a crash between committing
          // the purchase and storing the HTTP answer can never debit twice.
          .addUniqueConstraint('purchases_request', ['customer_id', 'request_key'])
          .execute();

        await db.schema
          .createTable('adjustments')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('customer_id', 'text', (c) => c.notNull())
          .addColumn('amount', 'bigint', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('actor_id', 'text', (c) => c.notNull())
          .addColumn('request_key', 'text')
          .addColumn('transaction_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('adjustments_request', ['actor_id', 'request_key'])
          .execute();
        await db.schema.createIndex('adjustments_customer').on('adjustments').column('customer_id').execute();

        await db.schema
          .createTable('service_clock')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('offset_ms', 'bigint', (c) => c.notNull())
          .execute();
        await sql`insert into service_clock (id, offset_ms) values (1, 0)`.execute(db);
      },
    },
    '0002_sandbox': sandboxMigration,
    '0003_recharges': rechargesMigration,
    '0004_notifications': notificationsMigration,
    '0005_refund_review': refundReviewMigration,
  };
}

class InCodeMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.dialect);
  }
}

/** Runs every pending migration; safe when several processes start at once (Kysely takes a lock). */
export async function migrateToLatest(db: Kysely<unknown>, dialect: Dialect): Promise<string[]> {
  // Unordered: capabilities add migrations independently; each is applied once, whatever its place.
  const migrator = new Migrator({ db, provider: new InCodeMigrations(dialect), allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
