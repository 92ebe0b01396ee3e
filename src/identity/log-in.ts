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
  // Count the attempt before checking the password, in one atomic step: checking the count first
  // and counting only after a failure let a burst of parallel guesses all pass the check.
  // A sign-in that succeeds is given back.
  const attempt = await ctx.limiter.hit(limitKey, ctx.config.authRatePerMin);
  if (!attempt.allowed) {
    throw new AppError('RATE_LIMITED', 'too many failed sign-ins from this address', {
      retryAfterSeconds: attempt.retryAfterSeconds,
    });
  }
  const user = await findUserByEmail(ctx.store.db, input.email);
  const ok = await verifyPassword(input.password, user?.password_hash ?? (await DUMMY_HASH));
  if (!user || !ok || user.status !== 'active') {
    throw new AppError('UNAUTHENTICATED', 'email or password is wrong');
  }
  await ctx.limiter.release(limitKey);
  const token = await createSession(ctx.store.db, user.id, ctx.clock.now());
  return { user: toUserView(user), token };
}
