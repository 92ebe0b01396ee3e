import { newId } from '../domain/ids.js';
import type { Executor } from '../store/database.js';

export interface AuditEntry {
  /** `user:usr_…`, `staff:usr_…` or `system`. */
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  data?: Record<string, unknown>;
  at: Date;
}

/** Who changed what, when and why; written in the same transaction as the change itself. */
export async function recordAudit(trx: Executor, entry: AuditEntry): Promise<void> {
  await trx
    .insertInto('audit_log')
    .values({
      id: newId('aud', entry.at.getTime()),
      actor: entry.actor,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      data: JSON.stringify(entry.data ?? {}),
      created_at: entry.at.toISOString(),
    })
    .execute();
}
