import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { openCustomerAccounts } from '../ledger/customer-accounts.js';
import { inTransaction, isUniqueViolation } from '../store/transaction.js';
import { hashPassword } from './passwords.js';
import { createSession } from './sessions.js';
import { normalizeEmail, toUserView, type UserView } from './users.repo.js';

export interface RegisterInput {
  email: string;
  password: string;
  phone?: string | null;
  name?: string | null;
  locale?: 'zh-CN' | 'en';
  clientIp: string;
}

/**
 * Signs up a customer: the user, their balance and held ledger accounts and a first session,
 * in one transaction. Registrations count against the per-IP auth rate limit.
 */
export async function registerCustomer(ctx: Context, input: RegisterInput): Promise<{ user: UserView; token: string }> {
  const decision = await ctx.limiter.hit(`auth:${input.clientIp}`, ctx.config.authRatePerMin);
  if (!decision.allowed) {
    throw new AppError('RATE_LIMITED', 'too many sign-ups or failed sign-ins from this address', {
      retryAfterSeconds: decision.retryAfterSeconds,
    });
  }
  const passwordHash = await hashPassword(input.password);
  const now = ctx.clock.now();
  const id = newId('usr', now.getTime());
  try {
    return await inTransaction(ctx.store, async (trx) => {
      const user = {
        id,
        email: normalizeEmail(input.email),
        password_hash: passwordHash,
        phone: input.phone ?? null,
        name: input.name ?? null,
        role: 'customer',
        locale: input.locale ?? 'zh-CN',
        status: 'active',
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      };
      await trx.insertInto('users').values(user).execute();
      await openCustomerAccounts(trx, id, now);
      const token = await createSession(trx, id, now);
      return { user: toUserView(user), token };
    });
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new AppError('VALIDATION_FAILED', 'this email is already registered', {
        errors: [{ field: 'email', message: 'already registered' }],
      });
    }
    throw error;
  }
}
