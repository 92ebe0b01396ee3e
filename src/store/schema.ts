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
  recharges: RechargesTable;
  recharge_attempts: RechargeAttemptsTable;
  channel_transactions: ChannelTransactionsTable;
  recharge_daily_totals: RechargeDailyTotalsTable;
  refunds: RefundsTable;
  refund_events: RefundEventsTable;
  provider_states: ProviderStatesTable;
  incidents: IncidentsTable;
  balance_settings: BalanceSettingsTable;
  events: EventsTable;
  notifications: NotificationsTable;
  notification_preferences: NotificationPreferencesTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  refund_application_locks: RefundApplicationLocksTable;
  evidence: EvidenceTable;
  compensations: CompensationsTable;
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
  reminder_threshold: number | null;
  auto_recharge_threshold: number | null;
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

export interface RechargesTable {
  id: string;
  customer_id: string;
  amount: number;
  currency: string;
  method: string;
  status: string;
  provider: string | null;
  failure_code: string | null;
  failure_retryable: number | null;
  channel_message: string | null;
  source_masked: string;
  credential_token: string | null;
  request_key: string | null;
  is_auto: number;
  /** Calendar day in Asia/Shanghai, for the daily limit. */
  day: string;
  expires_at: string;
  created_at: string;
  updated_at: string;
  succeeded_at: string | null;
}

export interface RechargeAttemptsTable {
  id: string;
  recharge_id: string;
  customer_id: string;
  provider: string;
  status: string;
  channel_txn_id: string | null;
  failure_code: string | null;
  channel_message: string | null;
  needs_review: number;
  created_at: string;
  updated_at: string;
  resolved_at: string | null;
}

export interface ChannelTransactionsTable {
  provider: string;
  channel_txn_id: string;
  attempt_id: string;
  recharge_id: string;
  customer_id: string;
  amount: number;
  /** `credited` to the balance, or `refund` (duplicate / late collection paid back). */
  disposition: string;
  refund_id: string | null;
  paid_at: string;
  created_at: string;
}

export interface RechargeDailyTotalsTable {
  customer_id: string;
  day: string;
  amount: number;
}

export interface RefundsTable {
  id: string;
  customer_id: string;
  recharge_id: string;
  provider: string;
  channel_txn_id: string | null;
  amount: number;
  currency: string;
  reason: string;
  status: string;
  destination: string;
  /** `automatic` (money the system found) or `application` (the customer asked). */
  origin: string;
  description: string | null;
  channel_refund_id: string | null;
  failure_reason: string | null;
  /** Where the money went when the original route refused it (`balance`). */
  fallback: string | null;
  request_key: string | null;
  created_at: string;
  updated_at: string;
  succeeded_at: string | null;
  /** `balance` (unused balance, held at approval) or `collection` (channel money never credited). */
  money_source: string | null;
  assignee_id: string | null;
  /** 1 agent, 2 supervisor, 3 management. */
  escalation_level: number;
  sla_due_at: string | null;
  sla_breached: number;
  /** JSON: what the system verified at submission, shown to staff. */
  checks: string | null;
  paid_at: string | null;
  channel_txn_no: string | null;
  decided_at: string | null;
  decided_by: string | null;
  rejection_reason: string | null;
}

export interface RefundApplicationLocksTable {
  recharge_id: string;
  refund_id: string;
  created_at: string;
}

export interface EvidenceTable {
  id: string;
  customer_id: string;
  refund_id: string | null;
  filename: string;
  size: number;
  content_type: string;
  sha256: string;
  storage_name: string;
  created_at: string;
}

export interface CompensationsTable {
  id: string;
  customer_id: string;
  amount: number;
  reason: string;
  refund_id: string | null;
  actor: string;
  request_key: string | null;
  transaction_id: string;
  created_at: string;
}

export interface RefundEventsTable {
  id: string;
  refund_id: string;
  status: string;
  actor: string;
  note: string | null;
  at: string;
}

export interface ProviderStatesTable {
  provider: string;
  consecutive_failures: number;
  window_started_at: string | null;
  open_until: string | null;
  maintenance: number;
  maintenance_until: string | null;
  maintenance_message: string | null;
  updated_at: string;
}

export interface IncidentsTable {
  id: string;
  provider: string;
  kind: string;
  message: string;
  started_at: string;
  ends_at: string | null;
  ended_at: string | null;
}

export interface BalanceSettingsTable {
  customer_id: string;
  reminder_threshold: number | null;
  auto_enabled: number;
  auto_threshold: number | null;
  auto_amount: number | null;
  auto_from_recharge_id: string | null;
  auto_in_flight_recharge_id: string | null;
  updated_at: string;
}

export interface EventsTable {
  id: string;
  customer_id: string;
  type: string;
  subject_id: string;
  data: string;
  created_at: string;
}

/** One message per (event, channel): the unique pair is what makes sending at-most-once. */
export interface NotificationsTable {
  id: string;
  event_id: string;
  customer_id: string;
  event: string;
  subject_id: string;
  /** `in_app`, `email` or `sms`. */
  channel: string;
  /** The address or phone number it went to; null in-app. */
  recipient: string | null;
  locale: string;
  title: string;
  body: string;
  /** `delivered`, `pending`, `sending` (claimed by a worker), `kept` (no transport: outbox), `failed`. */
  status: string;
  provider: string | null;
  provider_message_id: string | null;
  attempts: number;
  last_error: string | null;
  sending_since: string | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
  read_at: string | null;
}

export interface NotificationPreferencesTable {
  customer_id: string;
  /** `recharges`, `refunds`, `balance` or `tickets`. */
  event_group: string;
  /** `email` or `sms` (in-app is always on). */
  channel: string;
  enabled: number;
  updated_at: string;
}

export interface WebhookEndpointsTable {
  id: string;
  customer_id: string;
  url: string;
  /** JSON array of event types. */
  events: string;
  description: string | null;
  secret: string;
  /** The secret before the last rotation, still signed with until `previous_secret_expires_at`. */
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
  /** `enabled` or `disabled`. */
  status: string;
  disabled_at: string | null;
  disabled_reason: string | null;
  /** Consecutive events whose every retry failed; reset by any success. */
  failed_events: number;
  /** First failed attempt since the last success. */
  failing_since: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

/** One event for one endpoint; its id is the `webhook-id`, the same on every retry. */
export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  customer_id: string;
  event_id: string;
  event: string;
  /** The exact body sent, rendered once so every retry carries (and signs) the same bytes. */
  payload: string;
  /** `pending`, `succeeded`, `failed` (every retry failed) or `cancelled` (endpoint disabled or deleted). */
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
}

export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  endpoint_id: string;
  n: number;
  /** Service clock. */
  at: string;
  /** Real time, as sent in `webhook-timestamp`. */
  sent_at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}
