import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One registry per service instance (not prom-client's global one), so several instances in
 * one test process do not collide. Capabilities add their domain counters here.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    /** Set by capabilities whose gauges are read from the database at scrape time. */
    resolverCollect: null as null | (() => Promise<void>),
    httpRequests: new Counter({
      name: 'topup_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'topup_http_request_duration_seconds',
      help: 'HTTP request latency by method and route',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    ledgerTransactions: new Counter({
      name: 'topup_ledger_transactions_total',
      help: 'Ledger transactions posted, by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    purchases: new Counter({
      name: 'topup_purchases_total',
      help: 'Purchases by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    jobsProcessed: new Counter({
      name: 'topup_jobs_processed_total',
      help: 'Jobs run by the worker, by type and outcome (done, retry, dead)',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    jobsBacklog: new Gauge({
      name: 'topup_jobs_backlog',
      help: 'Jobs by status at the last scrape',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    recharges: new Counter({
      name: 'topup_recharges_total',
      help: 'Recharge orders reaching a status, by method, provider and failure code',
      labelNames: ['method', 'provider', 'status', 'failure_code'] as const,
      registers: [registry],
    }),
    channelCalls: new Counter({
      name: 'topup_channel_calls_total',
      help: 'Calls to payment channels by provider, operation and outcome',
      labelNames: ['provider', 'operation', 'outcome'] as const,
      registers: [registry],
    }),
    resolverBacklog: new Gauge({
      name: 'topup_resolver_backlog',
      help: 'Payment attempts whose outcome is not known yet (processing or unknown)',
      registers: [registry],
    }),
    refunds: new Counter({
      name: 'topup_refunds_total',
      help: 'Refunds reaching a status, by reason',
      labelNames: ['reason', 'status'] as const,
      registers: [registry],
    }),
    notifications: new Counter({
      name: 'topup_notifications_total',
      help: 'Customer messages by channel (in_app, email, sms), event and outcome (delivered, kept, retry, failed)',
      labelNames: ['channel', 'event', 'outcome'] as const,
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'topup_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (succeeded, retry, failed after the last retry, cancelled)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    webhookEndpointsDisabled: new Counter({
      name: 'topup_webhook_endpoints_disabled_total',
      help: 'Webhook endpoints switched off automatically after sustained failure',
      registers: [registry],
    }),
    refundDecisionSeconds: new Histogram({
      name: 'topup_refund_time_to_decision_seconds',
      help: 'From application to approval or rejection',
      buckets: [60, 600, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 48 * 3600],
      registers: [registry],
    }),
    refundMoneySeconds: new Histogram({
      name: 'topup_refund_time_to_money_seconds',
      help: 'From the refund being created to the money reaching the customer',
      buckets: [60, 600, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 72 * 3600],
      registers: [registry],
    }),
    slaEvents: new Counter({
      name: 'topup_refund_sla_events_total',
      help: 'Refund SLA warnings and breaches',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    idempotentReplays: new Counter({
      name: 'topup_idempotent_replays_total',
      help: 'Requests answered from a stored idempotent response',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
