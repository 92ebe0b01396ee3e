import type { Context } from '../context.js';

/** Resolver backlog, read when Prometheus scrapes rather than kept in memory (several processes share it). */
export function createRechargeMetricsCollector(ctx: Context): void {
  ctx.metrics.resolverCollect = async () => {
    const row = await ctx.store.db
      .selectFrom('recharge_attempts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', 'in', ['processing', 'unknown'])
      .executeTakeFirst();
    ctx.metrics.resolverBacklog.set(Number(row?.n ?? 0));
  };
}
