import { sql } from 'kysely';
import type { Context } from '../context.js';
import type { Worker } from '../jobs/worker.js';

/**
 * The sandbox test clock. The offset lives in the database so every API and worker process
 * of one deployment agrees on "now"; each process follows it by polling (`syncClock`).
 */
export async function syncClock(ctx: Context): Promise<void> {
  const row = await ctx.store.db.selectFrom('service_clock').select('offset_ms').where('id', '=', 1).executeTakeFirst();
  if (row) ctx.clock.setOffset(Number(row.offset_ms));
}

/** How long an advance waits for a background job that was already running to finish. */
const IDLE_WAIT_MS = 10_000;

/** Moves the service clock forward, then runs every job that became due before answering. */
export async function advanceClock(ctx: Context, worker: Worker, seconds: number): Promise<{ ran: number }> {
  const row = await ctx.store.db
    .updateTable('service_clock')
    .set({ offset_ms: sql<number>`offset_ms + ${seconds * 1000}` })
    .where('id', '=', 1)
    .returning('offset_ms')
    .executeTakeFirstOrThrow();
  ctx.clock.setOffset(Number(row.offset_ms));
  // Jobs may enqueue follow-ups that are due at once (a notification after a resolution):
  // keep draining until a pass finds nothing due. The background poll loop may have claimed a
  // job that just became due; answering before it finishes would show the caller a half-moved
  // world, so wait for it and look again.
  let ran = 0;
  for (let pass = 0; pass < 50; pass++) {
    const n = await worker.runAllDue();
    ran += n;
    const othersBusy = worker.busy();
    // Bounded: a job stuck on a slow outside peer (SMTP, a webhook) must not hold the clock.
    const idle = await Promise.race([
      worker.idle().then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), IDLE_WAIT_MS).unref()),
    ]);
    if (!idle || (n === 0 && !othersBusy)) break;
  }
  return { ran };
}
