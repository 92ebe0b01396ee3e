import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import { DUMMY_HASH, verifyPassword } from './passwords.js';
import { createSession } from './sessions.js';
import { findUserByEmail, toUserView, type UserView } from './users.repo.js';

/**
 * Password sign-in. Failed attempts count per client IP; past the limit every attempt from
 * that address is refused with RATE_LIMITED until the window ends (password guessing).
 * Unknown email and wrong password answer the same, after the same amount of hashing.
 */
export async function logIn(
  ctx: Context,
  input: { email: string; password: string; clientIp: string },
): Promise<{ user: UserView; token: string }> {
  const limitKey = `auth:${input.clientIp}`;
  const before = await ctx.limiter.peek(limitKey, ctx.config.authRatePerMin);
  if (!before.allowed) {
    throw new AppError('RATE_LIMITED', 'too many failed sign-ins from this address', {
      retryAfterSeconds: before.retryAfterSeconds,
    });
  }
  const user = await findUserByEmail(ctx.store.db, input.email);
  const ok = await verifyPassword(input.password, user?.password_hash ?? (await DUMMY_HASH));
  if (!user || !ok || user.status !== 'active') {
    await ctx.limiter.hit(limitKey, ctx.config.authRatePerMin);
    throw new AppError('UNAUTHENTICATED', 'email or password is wrong');
  }
  const token = await createSession(ctx.store.db, user.id, ctx.clock.now());
  return { user: toUserView(user), token };
}
