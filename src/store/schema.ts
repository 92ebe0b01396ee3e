import type { Generated } from 'kysely';

/** Table types. Timestamps are ISO-8601 UTC strings (sortable as text on both dialects). */
export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  ledger_accounts: LedgerAccountsTable;
  ledger_transactions: LedgerTransactionsTable;
  ledger_postings: LedgerPostingsTable;
  idempotency_keys: IdempotencyKeysTable;
  jobs: JobsTable;
  audit_log: AuditLogTable;
  purchases: PurchasesTable;
  adjustments: AdjustmentsTable;
  service_clock: ServiceClockTable;
}

export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  phone: string | null;
  name: string | null;
  role: string;
  locale: string;
  status: string;
  created_at: string;
  updated_at: string;
}

export interface SessionsTable {
  token_hash: string;
  user_id: string;
  created_at: string;
  expires_at: string;
}

export interface LedgerAccountsTable {
  id: string;
  kind: string;
  customer_id: string | null;
  /** Maintained (and guarded non-negative) for customer accounts only; 0 for derived accounts. */
  balance: number;
  created_at: string;
  updated_at: string;
}

export interface LedgerTransactionsTable {
  id: string;
  kind: string;
  ref: string | null;
  actor: string;
  customer_id: string | null;
  memo: string | null;
  reverses: string | null;
  created_at: string;
}

export interface LedgerPostingsTable {
  seq: Generated<number>;
  transaction_id: string;
  account_id: string;
  /** Debit positive, credit negative; each transaction's postings sum to zero. */
  amount: number;
  /** The account's natural balance after this posting, for guarded (customer) accounts. */
  balance_after: number | null;
  created_at: string;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  fingerprint: string;
  state: string;
  response_status: number | null;
  response_body: string | null;
  locked_until: string;
  created_at: string;
  expires_at: string;
}

export interface JobsTable {
  id: string;
  type: string;
  payload: string;
  status: string;
  run_at: string;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  locked_by: string | null;
  locked_until: string | null;
  dedupe_key: string | null;
  repeat_seconds: number | null;
  created_at: string;
  updated_at: string;
}

export interface AuditLogTable {
  id: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  data: string;
  created_at: string;
}

export interface PurchasesTable {
  id: string;
  customer_id: string;
  amount: number;
  description: string;
  request_key: string | null;
  transaction_id: string;
  created_at: string;
}

export interface AdjustmentsTable {
  id: string;
  customer_id: string;
  amount: number;
  reason: string;
  actor_id: string;
  request_key: string | null;
  transaction_id: string;
  created_at: string;
}

export interface ServiceClockTable {
  id: number;
  offset_ms: number;
}
