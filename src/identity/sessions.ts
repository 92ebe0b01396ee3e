import { createHash, randomBytes } from 'node:crypto';
import type { Executor } from '../store/database.js';
import type { Actor, Role } from './roles.js';

/** Sessions last 30 days on the service clock (so the sandbox clock can move days ahead). */
export const SESSION_DAYS = 30;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Opaque bearer tokens: only their SHA-256 is stored, so a database leak yields no sessions. */
export async function createSession(db: Executor, userId: string, now: Date): Promise<string> {
  const token = `tps_${randomBytes(32).toString('base64url')}`;
  await db
    .insertInto('sessions')
    .values({
      token_hash: hashToken(token),
      user_id: userId,
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + SESSION_DAYS * 86_400_000).toISOString(),
    })
    .execute();
  return token;
}

export async function findSessionActor(db: Executor, token: string, now: Date): Promise<Actor | null> {
  if (!token.startsWith('tps_') || token.length > 100) return null;
  const row = await db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['u.id', 'u.email', 'u.role', 'u.locale', 'u.status', 's.expires_at'])
    .where('s.token_hash', '=', hashToken(token))
    .executeTakeFirst();
  if (!row || row.status !== 'active' || row.expires_at <= now.toISOString()) return null;
  return { id: row.id, email: row.email, role: row.role as Role, locale: row.locale };
}
