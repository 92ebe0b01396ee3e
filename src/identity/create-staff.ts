import { recordAudit } from '../audit/record-audit.js';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { inTransaction, isUniqueViolation } from '../store/transaction.js';
import { hashPassword } from './passwords.js';
import type { StaffRole } from './roles.js';
import { normalizeEmail, toUserView, type UserView } from './users.repo.js';

/**
 * Creates a staff account (admin only, or the `topup staff create` CLI). Audited with the
 * creating actor; the password itself is never recorded.
 */
export async function createStaff(
  ctx: Context,
  input: { email: string; password: string; role: StaffRole; name?: string | null },
  actor: string,
): Promise<UserView> {
  const passwordHash = await hashPassword(input.password);
  const now = ctx.clock.now();
  const user = {
    id: newId('usr', now.getTime()),
    email: normalizeEmail(input.email),
    password_hash: passwordHash,
    phone: null,
    name: input.name ?? null,
    role: input.role,
    locale: 'zh-CN',
    status: 'active',
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
  };
  try {
    await inTransaction(ctx.store, async (trx) => {
      await trx.insertInto('users').values(user).execute();
      await recordAudit(trx, {
        actor,
        action: 'staff.created',
        targetType: 'user',
        targetId: user.id,
        data: { email: user.email, role: user.role },
        at: now,
      });
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new AppError('VALIDATION_FAILED', 'this email is already registered', {
        errors: [{ field: 'email', message: 'already registered' }],
      });
    }
    throw error;
  }
  return toUserView(user);
}

/** Creates the bootstrap admin from TOPUP_ADMIN_EMAIL/PASSWORD when it does not exist yet. */
export async function ensureBootstrapAdmin(ctx: Context): Promise<void> {
  const { adminEmail, adminPassword } = ctx.config;
  if (!adminEmail || !adminPassword) return;
  const existing = await ctx.store.db.selectFrom('users').select('id').where('email', '=', normalizeEmail(adminEmail)).executeTakeFirst();
  if (existing) return;
  try {
    await createStaff(ctx, { email: adminEmail, password: adminPassword, role: 'admin' }, 'system');
    ctx.log.info({ email: normalizeEmail(adminEmail) }, 'bootstrap admin created');
  } catch (error) {
    // Another process created it at the same moment: that is the outcome we wanted.
    if (!(error instanceof AppError && error.code === 'VALIDATION_FAILED')) throw error;
  }
}
