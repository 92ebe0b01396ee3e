import type { Context } from '../../context.js';
import type { App } from '../../http/app.js';
import type { Worker } from '../../jobs/worker.js';
import type { PaymentChannel } from '../payment-channel.js';
import { parseSandboxFaults } from './faults.js';
import { deliverNotification, NOTIFY_JOB } from './notifications.js';
import { sandboxStatementRoutes } from './sandbox.routes.js';
import { LATE_COLLECT_JOB, lateCollect, SANDBOX_PROVIDERS, SandboxChannel, SETTLE_REFUND_JOB, settleRefund } from './sandbox-channel.js';

export { parseSandboxFaults, type SandboxFaults } from './faults.js';
export {
  NOTIFY_TOLERANCE_SECONDS,
  RESEND_SCHEDULE_MS,
  sandboxNotifySecret,
  signSandboxNotification,
} from './notifications.js';
export { type SandboxTables, sandboxMigration } from './sandbox.migration.js';
export { maskCardNumber, SANDBOX_PROVIDERS, SandboxChannel, TRIGGERS } from './sandbox-channel.js';

/**
 * The four sandbox providers in the router's priority order: sandbox_unionpay_a,
 * sandbox_unionpay_b (bank_card, credit_card), sandbox_alipay (alipay), sandbox_wechat
 * (wechat_pay). Random-fault mode is on when `config.sandboxFaults` is set (format in faults.ts).
 */
export function createSandboxChannels(ctx: Context): PaymentChannel[] {
  const faults = parseSandboxFaults(ctx.config.sandboxFaults);
  return SANDBOX_PROVIDERS.map((spec) => new SandboxChannel(ctx, spec, faults));
}

function text(payload: Record<string, unknown>, name: string): string {
  const value = payload[name];
  if (typeof value !== 'string') throw new Error(`job payload field ${name} missing`);
  return value;
}

/** The sandbox's own jobs: notification delivery (with resends), late collections, refund settlement. */
export function registerSandboxJobs(ctx: Context, worker: Worker): void {
  worker.register(NOTIFY_JOB, async (payload) => {
    await deliverNotification(ctx, text(payload, 'notifyId'));
  });
  worker.register(LATE_COLLECT_JOB, async (payload) => {
    await lateCollect(ctx, text(payload, 'provider'), text(payload, 'attemptId'));
  });
  worker.register(SETTLE_REFUND_JOB, async (payload) => {
    await settleRefund(ctx, text(payload, 'provider'), text(payload, 'refundId'));
  });
}

/**
 * `GET /v1/admin/providers/:provider/statement?date=YYYY-MM-DD` (finance, admin; text/csv).
 * Registered only when `config.sandbox`. Pass the router's channel list to share instances;
 * by default the sandbox providers are created here.
 */
export function sandboxRoutes(ctx: Context, channels?: PaymentChannel[]): (app: App) => void {
  let list = channels ?? null;
  return sandboxStatementRoutes(ctx, () => {
    list ??= createSandboxChannels(ctx);
    return list.filter((c) => SANDBOX_PROVIDERS.some((p) => p.provider === c.provider));
  });
}
