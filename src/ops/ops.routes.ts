import { sql } from 'kysely';
import { Type } from 'typebox';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { App } from '../http/app.js';
import { decodeCursor, pageOf } from '../http/cursor.js';
import { Enum, ListQuery, Nullable, Page, problems, Strict, Timestamp } from '../http/schemas.js';
import type { Worker } from '../jobs/worker.js';
import { advanceClock } from './service-clock.js';

const Job = Type.Object({
  id: Type.String(),
  type: Type.String(),
  status: Type.String(),
  run_at: Timestamp,
  attempts: Type.Integer(),
  max_attempts: Type.Integer(),
  last_error: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});
const ClockState = Type.Object({ now: Timestamp, offset_seconds: Type.Integer() });

export function opsRoutes(ctx: Context, worker: Worker) {
  return (app: App) => {
    app.get(
      '/healthz',
      {
        config: { auth: 'public' },
        schema: { tags: ['operations'], security: [], response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        config: { auth: 'public' },
        schema: {
          tags: ['operations'],
          security: [],
          description: 'Ready when the database answers.',
          response: { 200: Type.Object({ status: Type.Literal('ready'), database: Type.String() }), ...problems('SYSTEM_BUSY') },
        },
      },
      async () => {
        try {
          await sql`select 1`.execute(ctx.store.db);
        } catch (error) {
          ctx.log.error({ err: error }, 'readiness check failed');
          throw new AppError('SYSTEM_BUSY', 'database unreachable');
        }
        return { status: 'ready' as const, database: ctx.store.dialect };
      },
    );

    app.get(
      '/metrics',
      {
        config: { auth: 'public' },
        schema: {
          tags: ['operations'],
          security: [],
          description: 'Prometheus metrics (text exposition format).',
          produces: ['text/plain'],
          response: { 200: Type.String() },
        },
      },
      async (_request, reply) => {
        const counts = await ctx.store.db
          .selectFrom('jobs')
          .select(['status', sql<number>`count(*)`.as('n')])
          .groupBy('status')
          .execute();
        ctx.metrics.jobsBacklog.reset();
        for (const c of counts) ctx.metrics.jobsBacklog.set({ status: c.status }, Number(c.n));
        await ctx.metrics.resolverCollect?.();
        return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
      },
    );

    app.get(
      '/v1/admin/jobs',
      {
        config: { auth: ['admin'] },
        schema: {
          tags: ['admin'],
          description: 'The jobs table: dead jobs stay here, visible, until retried.',
          querystring: Type.Object(
            { ...ListQuery, status: Type.Optional(Enum(['pending', 'running', 'done', 'dead'] as const)) },
            { additionalProperties: false },
          ),
          response: { 200: Page(Job), ...problems('UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? 20;
        const cursor = decodeCursor(request.query.cursor);
        let query = ctx.store.db
          .selectFrom('jobs')
          .selectAll()
          .orderBy('id', 'desc')
          .limit(limit + 1);
        if (request.query.status) query = query.where('status', '=', request.query.status);
        if (cursor !== null) query = query.where('id', '<', String(cursor));
        const rows = await query.execute();
        const { page, next_cursor } = pageOf(rows, limit, (row) => row.id);
        return {
          data: page.map((j) => ({
            id: j.id,
            type: j.type,
            status: j.status,
            run_at: j.run_at,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error,
            created_at: j.created_at,
            updated_at: j.updated_at,
          })),
          next_cursor,
        };
      },
    );

    app.post(
      '/v1/admin/jobs/:id/retry',
      {
        config: { auth: ['admin'] },
        schema: {
          tags: ['admin'],
          description: 'Gives a dead job a fresh retry budget.',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          response: { 200: Job, ...problems('NOT_FOUND', 'INVALID_STATE', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const now = ctx.clock.now().toISOString();
        const row = await ctx.store.db
          .updateTable('jobs')
          .set({ status: 'pending', attempts: 0, run_at: now, updated_at: now })
          .where('id', '=', request.params.id)
          .where('status', '=', 'dead')
          .returningAll()
          .executeTakeFirst();
        if (!row) {
          const exists = await ctx.store.db.selectFrom('jobs').select('id').where('id', '=', request.params.id).executeTakeFirst();
          throw exists ? new AppError('INVALID_STATE', 'only dead jobs can be retried') : new AppError('NOT_FOUND', 'no such job');
        }
        worker.poke();
        return {
          id: row.id,
          type: row.type,
          status: row.status,
          run_at: row.run_at,
          attempts: row.attempts,
          max_attempts: row.max_attempts,
          last_error: row.last_error,
          created_at: row.created_at,
          updated_at: row.updated_at,
        };
      },
    );

    if (!ctx.config.sandbox) return;

    app.get(
      '/v1/sandbox/clock',
      {
        config: { auth: ['admin'] },
        schema: { tags: ['sandbox'], response: { 200: ClockState, ...problems('UNAUTHENTICATED', 'FORBIDDEN') } },
      },
      async () => ({ now: ctx.clock.now().toISOString(), offset_seconds: Math.floor(ctx.clock.offset / 1000) }),
    );

    app.post(
      '/v1/sandbox/clock/advance',
      {
        config: { auth: ['admin'] },
        schema: {
          tags: ['sandbox'],
          description: "Moves the service's clock forward and runs whatever became due before answering.",
          body: Strict({ seconds: Type.Integer({ minimum: 1, maximum: 10 * 365 * 86_400 }) }),
          response: {
            200: Type.Object({ now: Timestamp, offset_seconds: Type.Integer(), jobs_run: Type.Integer() }),
            ...problems('UNAUTHENTICATED', 'FORBIDDEN'),
          },
        },
      },
      async (request) => {
        const { ran } = await advanceClock(ctx, worker, request.body.seconds);
        return { now: ctx.clock.now().toISOString(), offset_seconds: Math.floor(ctx.clock.offset / 1000), jobs_run: ran };
      },
    );
  };
}
