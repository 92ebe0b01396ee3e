import type { Logger } from 'pino';
import { auditRoutes } from './audit/audit.routes.js';
import { balanceRoutes } from './balance/balance.routes.js';
import { channelRoutes } from './channels/channel.routes.js';
import type { PaymentChannel } from './channels/payment-channel.js';
import { ChannelRouter } from './channels/router.js';
import { createSandboxChannels, registerSandboxJobs, sandboxRoutes } from './channels/sandbox/index.js';
import { statusRoutes } from './channels/status.routes.js';
import { compensationRoutes } from './compensations/compensation.routes.js';
import type { Config } from './config.js';
import type { Context } from './context.js';
import { OffsetClock } from './domain/clock.js';
import { evidenceRoutes } from './evidence/evidence.routes.js';
import { type App, buildHttpApp } from './http/app.js';
import { purgeExpiredIdempotencyKeys } from './http/idempotency.js';
import { webConsoleRoutes } from './http/web-console.js';
import { ensureBootstrapAdmin } from './identity/create-staff.js';
import { identityRoutes } from './identity/identity.routes.js';
import { Worker } from './jobs/worker.js';
import { accounts } from './ledger/accounts.js';
import { openPlatformAccounts } from './ledger/post-transaction.js';
import { createMailTransport } from './notifications/email.js';
import { registerNotificationJobs } from './notifications/notification.jobs.js';
import { notificationRoutes } from './notifications/notification.routes.js';
import { createSmsTransport } from './notifications/sms.js';
import { dashboardRoutes } from './ops/dashboard.routes.js';
import { createLogger } from './ops/logger.js';
import { createMetrics } from './ops/metrics.js';
import { opsRoutes } from './ops/ops.routes.js';
import { MemoryRateLimiter, RedisRateLimiter } from './ops/rate-limiter.js';
import { syncClock } from './ops/service-clock.js';
import { createRechargeMetricsCollector } from './recharges/metrics.js';
import { registerPreventionJobs } from './recharges/prevention.js';
import { preventionRoutes } from './recharges/prevention.routes.js';
import { rechargeRoutes } from './recharges/recharge.routes.js';
import { registerResolverJobs } from './recharges/resolve-attempt.js';
import { adminRefundRoutes } from './refunds/admin-refund.routes.js';
import { registerRefundJobs } from './refunds/payout-refund.js';
import { refundRoutes } from './refunds/refund.routes.js';
import { registerRefundSlaJobs } from './refunds/refund-sla.js';
import { openStore } from './store/database.js';
import { migrateToLatest } from './store/migrations.js';
import { registerWebhookJobs } from './webhooks/webhook.jobs.js';
import { webhookRoutes } from './webhooks/webhook.routes.js';

export interface RunOptions {
  /** Serve HTTP (`topup serve`, `topup api`). */
  api: boolean;
  /** Drain the jobs table (`topup serve`, `topup worker`). */
  worker: boolean;
  /** `false` builds the HTTP app without listening (exporting the OpenAPI document). Default true. */
  listen?: boolean;
  logger?: Logger;
}

export interface Service {
  ctx: Context;
  worker: Worker;
  router: ChannelRouter;
  app: App | null;
  /** `http://host:port` when serving. */
  url: string | null;
  close(): Promise<void>;
}

/**
 * The composition root: config → store → services → HTTP and worker. Nothing else wires things.
 */
export async function startService(config: Config, options: RunOptions): Promise<Service> {
  const log = options.logger ?? createLogger(config.logLevel);
  const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize });
  await migrateToLatest(store.db as never, store.dialect);
  const clock = new OffsetClock();
  const metrics = createMetrics();
  const limiter = config.redisUrl ? new RedisRateLimiter(config.redisUrl, clock) : new MemoryRateLimiter(clock);
  const ctx: Context = { config, store, clock, log, metrics, limiter, publicUrl: { current: config.publicUrl } };
  await syncClock(ctx);

  const worker = new Worker(store, clock, log, metrics, {
    pollMs: config.workerPollMs,
    beforePoll: config.sandbox ? () => syncClock(ctx) : undefined,
  });
  worker.every('idempotency.purge', 3600, async () => {
    await purgeExpiredIdempotencyKeys(ctx);
  });
  worker.every('jobs.prune', 6 * 3600, async () => {
    const cutoff = new Date(clock.nowMs() - 7 * 86_400_000).toISOString();
    await store.db.deleteFrom('jobs').where('status', '=', 'done').where('updated_at', '<', cutoff).execute();
  });

  // Payment channels: the sandbox providers (on by default); real providers join this list.
  const channels: PaymentChannel[] = config.sandbox ? createSandboxChannels(ctx) : [];
  const router = new ChannelRouter(ctx, channels);
  await openPlatformAccounts(
    store.db,
    [
      accounts.apiRevenue(),
      accounts.adjustments(),
      accounts.compensation(),
      accounts.suspense(),
      accounts.refundsInFlight(),
      ...channels.map((c) => accounts.channelClearing(c.provider)),
    ],
    clock.now(),
  );
  if (config.sandbox) registerSandboxJobs(ctx, worker);
  registerResolverJobs(ctx, worker, router);
  registerRefundJobs(ctx, worker, router);
  registerRefundSlaJobs(ctx, worker);
  registerPreventionJobs(ctx, worker, router);
  // Customer messages: email over SMTP (kept in the outbox without SMTP_URL), SMS through the configured provider.
  const transports = { email: createMailTransport(config), sms: createSmsTransport(config) };
  registerNotificationJobs(ctx, worker, router, transports);
  registerWebhookJobs(ctx, worker);
  createRechargeMetricsCollector(ctx);

  await ensureBootstrapAdmin(ctx);

  let app: App | null = null;
  let url: string | null = null;
  if (options.api) {
    app = await buildHttpApp(ctx, {
      logger: log,
      routes: [
        opsRoutes(ctx, worker),
        identityRoutes(ctx),
        balanceRoutes(ctx),
        preventionRoutes(ctx),
        rechargeRoutes(ctx, router),
        refundRoutes(ctx, router),
        adminRefundRoutes(ctx),
        evidenceRoutes(ctx),
        compensationRoutes(ctx),
        channelRoutes(ctx, router),
        statusRoutes(ctx, router),
        notificationRoutes(ctx),
        webhookRoutes(ctx),
        ...(config.sandbox ? [sandboxRoutes(ctx)] : []),
        dashboardRoutes(ctx, router),
        auditRoutes(ctx),
        // The web console at `/` (web/dist, built by `npm run build`); unknown /v1 paths stay API 404s.
        webConsoleRoutes(),
      ],
    });
    if (options.listen === false) await app.ready();
    else {
      url = await app.listen({ port: config.port, host: config.host });
      ctx.publicUrl.current ??= url;
    }
  }
  if (options.worker) worker.start();
  else await worker.ensureSchedules();

  // Another process may move the sandbox clock; follow it.
  const clockTimer = config.sandbox
    ? setInterval(() => {
        syncClock(ctx).catch((error: unknown) => log.warn({ err: error }, 'clock sync failed'));
      }, 1000)
    : null;
  clockTimer?.unref();

  return {
    ctx,
    worker,
    router,
    app,
    url,
    async close() {
      if (clockTimer) clearInterval(clockTimer);
      await worker.stop();
      await app?.close();
      await limiter.close();
      transports.email.close();
      transports.sms.close();
      await store.close();
    },
  };
}
