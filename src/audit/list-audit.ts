import type { Executor } from '../store/database.js';

export interface AuditQuery {
  limit: number;
  /** Entries older than this id (ids sort by time). */
  before: string | null;
  actor: string | null;
  action: string | null;
  targetType: string | null;
  targetId: string | null;
}

/** Audit entries, newest first, with their recorded data parsed back into an object. */
export async function listAudit(db: Executor, query: AuditQuery) {
  let q = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(query.limit);
  if (query.before !== null) q = q.where('id', '<', query.before);
  if (query.actor) q = q.where('actor', '=', query.actor);
  if (query.action) q = q.where('action', '=', query.action);
  if (query.targetType) q = q.where('target_type', '=', query.targetType);
  if (query.targetId) q = q.where('target_id', '=', query.targetId);
  const rows = await q.execute();
  return rows.map((r) => {
    let data: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(r.data);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as Record<string, unknown>;
    } catch {
      // an unreadable entry still shows who did what
    }
    return {
      id: r.id,
      actor: r.actor,
      action: r.action,
      target_type: r.target_type,
      target_id: r.target_id,
      data,
      created_at: r.created_at,
    };
  });
}
