import { Type } from 'typebox';
import type { Context } from '../context.js';
import type { App } from '../http/app.js';
import { decodeCursor, pageOf } from '../http/cursor.js';
import { ListQuery, Nullable, problems, Timestamp } from '../http/schemas.js';
import { listAudit } from './list-audit.js';

const AuditEntry = Type.Object({
  id: Type.String(),
  actor: Type.String({ description: '`user:usr_…`, `staff:usr_…` or `system`' }),
  action: Type.String(),
  target_type: Type.String(),
  target_id: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
  created_at: Timestamp,
});

/** The audit trail, read-only: who (customer, staff, system) changed what, when and why. */
export function auditRoutes(ctx: Context) {
  return (app: App) => {
    app.get(
      '/v1/admin/audit',
      {
        config: { auth: ['cs_supervisor', 'finance', 'admin'] },
        schema: {
          tags: ['admin'],
          description: 'Audit entries, newest first, filtered by actor, action, target type or target id.',
          querystring: Type.Object(
            {
              ...ListQuery,
              actor: Type.Optional(Type.String({ maxLength: 100 })),
              action: Type.Optional(Type.String({ maxLength: 100 })),
              target_type: Type.Optional(Type.String({ maxLength: 50 })),
              target_id: Type.Optional(Type.String({ maxLength: 64 })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ data: Type.Array(AuditEntry), next_cursor: Nullable(Type.String()) }),
            ...problems('UNAUTHENTICATED', 'FORBIDDEN'),
          },
        },
      },
      async (request) => {
        const q = request.query;
        const limit = q.limit ?? 20;
        const cursor = decodeCursor(q.cursor);
        const rows = await listAudit(ctx.store.db, {
          limit: limit + 1,
          before: cursor === null ? null : String(cursor),
          actor: q.actor ?? null,
          action: q.action ?? null,
          targetType: q.target_type ?? null,
          targetId: q.target_id ?? null,
        });
        const { page, next_cursor } = pageOf(rows, limit, (row) => row.id);
        return {
          data: page,
          next_cursor,
        };
      },
    );
  };
}
