import { Type } from 'typebox';
import type { Context } from '../context.js';
import { AppError, type Language } from '../domain/errors.js';
import { toEvidenceView } from '../evidence/upload-evidence.js';
import type { App } from '../http/app.js';
import { decodeCursor, encodeCursor } from '../http/cursor.js';
import { Enum, ListQuery, Nullable, problems, Strict, Timestamp } from '../http/schemas.js';
import type { Actor } from '../identity/roles.js';
import { readCustomerBalance } from '../ledger/customer-accounts.js';
import type { Check } from './application-checks.js';
import { OPEN_STATUSES } from './customer-actions.js';
import { RefundView, renderRefunds } from './refund.routes.js';
import { approveRefund, claimRefund, escalateRefund, rejectRefund, requestInfo } from './review-refund.js';

const STATUSES = [
  'submitted',
  'under_review',
  'info_requested',
  'approved',
  'rejected',
  'processing',
  'succeeded',
  'failed',
  'cancelled',
] as const;

const StaffRefundView = Type.Object({
  ...RefundView.properties,
  customer_id: Type.String(),
  origin: Enum(['automatic', 'application'] as const),
  money_source: Nullable(Type.String()),
  checks: Type.Array(Type.Object({ name: Type.String(), ok: Type.Boolean(), detail: Type.String() })),
  sla_due_at: Nullable(Timestamp),
  sla_breached: Type.Boolean(),
  escalation_level: Type.Integer({ minimum: 1, maximum: 3 }),
  assignee_id: Nullable(Type.String()),
});

const StaffRefundDetail = Type.Object({
  ...StaffRefundView.properties,
  customer: Type.Object({
    id: Type.String(),
    email: Type.String(),
    phone: Nullable(Type.String()),
    status: Type.String(),
    available: Type.Integer(),
    held: Type.Integer(),
  }),
  recharge: Nullable(
    Type.Object({
      id: Type.String(),
      status: Type.String(),
      amount: Type.Integer(),
      method: Type.String(),
      provider: Nullable(Type.String()),
      created_at: Timestamp,
    }),
  ),
  evidence: Type.Array(
    Type.Object({ id: Type.String(), filename: Type.String(), size: Type.Integer(), content_type: Type.String(), created_at: Timestamp }),
  ),
  history: Type.Array(
    Type.Object({ id: Type.String(), status: Type.String(), amount: Type.Integer(), reason: Type.String(), created_at: Timestamp }),
  ),
});

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const ActionProblems = problems('NOT_FOUND', 'INVALID_STATE', 'FORBIDDEN', 'UNAUTHENTICATED');

export function adminRefundRoutes(ctx: Context) {
  async function staffViews(ids: string[], language: Language) {
    if (ids.length === 0) return [];
    const rows = await ctx.store.db.selectFrom('refunds').selectAll().where('id', 'in', ids).execute();
    const ordered = ids.map((id) => rows.find((r) => r.id === id)).filter((r) => r !== undefined);
    const views = await renderRefunds(ctx, ordered, language);
    return ordered.map((r, i) => ({
      ...(views[i] as (typeof views)[number]),
      customer_id: r.customer_id,
      origin: r.origin as 'automatic' | 'application',
      money_source: r.money_source,
      checks: r.checks ? (JSON.parse(r.checks) as Check[]) : [],
      sla_due_at: r.sla_due_at,
      sla_breached: r.sla_breached === 1,
      escalation_level: r.escalation_level,
      assignee_id: r.assignee_id,
    }));
  }

  async function detail(id: string, language: Language) {
    const [view] = await staffViews([id], language);
    if (!view) throw new AppError('NOT_FOUND', 'no such refund');
    const db = ctx.store.db;
    const customer = await db.selectFrom('users').selectAll().where('id', '=', view.customer_id).executeTakeFirstOrThrow();
    const balance = await readCustomerBalance(db, customer.id);
    const recharge = await db.selectFrom('recharges').selectAll().where('id', '=', view.recharge_id).executeTakeFirst();
    const evidence = await db.selectFrom('evidence').selectAll().where('refund_id', '=', id).orderBy('id').execute();
    const history = await db
      .selectFrom('refunds')
      .select(['id', 'status', 'amount', 'reason', 'created_at'])
      .where('customer_id', '=', customer.id)
      .where('id', '<>', id)
      .orderBy('id', 'desc')
      .limit(20)
      .execute();
    return {
      ...view,
      customer: {
        id: customer.id,
        email: customer.email,
        phone: customer.phone,
        status: customer.status,
        available: balance?.available ?? 0,
        held: balance?.held ?? 0,
      },
      recharge: recharge
        ? {
            id: recharge.id,
            status: recharge.status,
            amount: Number(recharge.amount),
            method: recharge.method,
            provider: recharge.provider,
            created_at: recharge.created_at,
          }
        : null,
      evidence: evidence.map(toEvidenceView),
      history: history.map((h) => ({ ...h, amount: Number(h.amount) })),
    };
  }

  function staff(request: { actor: Actor | null }): Actor {
    if (!request.actor) throw new AppError('UNAUTHENTICATED');
    return request.actor;
  }

  return (app: App) => {
    app.get(
      '/v1/admin/refunds',
      {
        config: { auth: ['cs_agent', 'finance'] },
        schema: {
          tags: ['refund review'],
          description:
            'The review queue. Without `status`: open applications (submitted, under_review, info_requested), most urgent SLA first.',
          querystring: Type.Object(
            {
              ...ListQuery,
              status: Type.Optional(Enum(STATUSES)),
              escalated: Type.Optional(Type.Boolean()),
              assignee_id: Type.Optional(Type.String({ maxLength: 64 })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ data: Type.Array(StaffRefundView), next_cursor: Nullable(Type.String()) }),
            ...problems('UNAUTHENTICATED', 'FORBIDDEN'),
          },
        },
      },
      async (request) => {
        const q = request.query;
        const limit = q.limit ?? 20;
        const offset = Number(decodeCursor(q.cursor) ?? 0);
        let query = ctx.store.db
          .selectFrom('refunds')
          .select('id')
          .where('status', 'in', q.status ? [q.status] : [...OPEN_STATUSES])
          .orderBy('sla_due_at', 'asc')
          .orderBy('id', 'asc')
          .limit(limit + 1)
          .offset(Number.isSafeInteger(offset) && offset >= 0 ? offset : 0);
        if (q.escalated !== undefined) query = query.where('escalation_level', q.escalated ? '>=' : '=', q.escalated ? 2 : 1);
        if (q.assignee_id) query = query.where('assignee_id', '=', q.assignee_id);
        const ids = (await query.execute()).map((r) => r.id);
        const page = ids.slice(0, limit);
        return {
          data: await staffViews(page, request.language),
          next_cursor: ids.length > limit ? encodeCursor(offset + limit) : null,
        };
      },
    );

    app.get(
      '/v1/admin/refunds/:id',
      {
        config: { auth: ['cs_agent', 'finance'] },
        schema: {
          tags: ['refund review'],
          description: 'A refund with the system checks, SLA, evidence, the customer and their history.',
          params: IdParams,
          response: { 200: StaffRefundDetail, ...problems('NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => detail(request.params.id, request.language),
    );

    const action = (
      path: string,
      description: string,
      body: ReturnType<typeof Strict> | null,
      run: (actor: Actor, id: string, body: Record<string, unknown>) => Promise<void>,
      extraProblems: Parameters<typeof problems> = [],
    ) => {
      app.post(
        `/v1/admin/refunds/:id/${path}`,
        {
          config: { auth: ['cs_agent'] },
          schema: {
            tags: ['refund review'],
            description,
            params: IdParams,
            ...(body ? { body } : {}),
            response: { 200: StaffRefundDetail, ...ActionProblems, ...problems(...extraProblems) },
          },
        },
        async (request) => {
          await run(staff(request), request.params.id, (request.body ?? {}) as Record<string, unknown>);
          return detail(request.params.id, request.language);
        },
      );
    };

    action('claim', 'Take the application for review: submitted → under_review.', null, (actor, id) => claimRefund(ctx, actor, id));
    action(
      'request-info',
      'Ask the customer for more information: → info_requested (the customer answers with a reply).',
      Strict({ message: Type.String({ minLength: 1, maxLength: 2000 }) }),
      (actor, id, body) => requestInfo(ctx, actor, id, String(body.message)),
    );
    action(
      'approve',
      'Approve: the amount is held at once and paid back to the original payment method. Agents approve up to their cap; escalated or larger ones need a supervisor.',
      Strict({
        destination: Type.Optional(Enum(['original', 'balance'] as const)),
        note: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
      }),
      (actor, id, body) =>
        approveRefund(ctx, actor, id, {
          destination: body.destination as 'original' | 'balance' | undefined,
          note: (body.note as string | null | undefined) ?? null,
        }),
      ['REFUND_NOT_ALLOWED', 'INSUFFICIENT_BALANCE'],
    );
    action(
      'reject',
      'Reject with a reason the customer will see.',
      Strict({ reason: Type.String({ minLength: 1, maxLength: 2000 }) }),
      (actor, id, body) => rejectRefund(ctx, actor, id, String(body.reason)),
    );
    action(
      'escalate',
      'Hand the application up a level (agent → supervisor → management).',
      Strict({ note: Type.String({ minLength: 1, maxLength: 2000 }) }),
      (actor, id, body) => escalateRefund(ctx, actor, id, String(body.note)),
    );
  };
}
