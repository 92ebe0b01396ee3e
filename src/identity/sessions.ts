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

/**
 * Sessions looked up in the last few seconds, by token. Every authenticated request needs
 * its actor and a session never changes after it is created, so a read per request is pure
 * overhead on hot routes (balance reads: a third of the server's database time). The short
 * life bounds how long a future revocation (sign-out, a disabled account) could lag; such a
 * revocation must also drop the session from this map in the process that makes it.
 */
const SESSION_CACHE_MS = 5_000;
const SESSION_CACHE_SIZE = 10_000;
const recentSessions = new Map<string, { actor: Actor; expiresAt: string; until: number }>();

/**
 * The actor of a session looked up in the last few seconds, without touching the database;
 * `undefined` when it must be looked up (`findSessionActor`).
 */
export function cachedSessionActor(token: string, now: Date): Actor | undefined {
  // Keyed by the token itself (held only in this process's memory, like the request that
  // carried it): a cached session costs no hashing.
  const cached = recentSessions.get(token);
  if (cached && cached.until > performance.now() && cached.expiresAt > now.toISOString()) return cached.actor;
  return undefined;
}

export async function findSessionActor(db: Executor, token: string, now: Date): Promise<Actor | null> {
  if (!token.startsWith('tps_') || token.length > 100) return null;
  const cached = cachedSessionActor(token, now);
  if (cached) return cached;
  const nowIso = now.toISOString();
  const found = await lookUpSession(db, hashToken(token), nowIso);
  if (found) {
    if (recentSessions.size >= SESSION_CACHE_SIZE) recentSessions.delete(recentSessions.keys().next().value as string);
    recentSessions.set(token, { ...found, until: performance.now() + SESSION_CACHE_MS });
  } else {
    recentSessions.delete(token);
  }
  return found?.actor ?? null;
}

async function lookUpSession(db: Executor, tokenHash: string, nowIso: string): Promise<{ actor: Actor; expiresAt: string } | null> {
  const row = await db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['u.id', 'u.email', 'u.role', 'u.locale', 'u.status', 's.expires_at'])
    .where('s.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row || row.status !== 'active' || row.expires_at <= nowIso) return null;
  return { actor: { id: row.id, email: row.email, role: row.role as Role, locale: row.locale }, expiresAt: row.expires_at };
}
