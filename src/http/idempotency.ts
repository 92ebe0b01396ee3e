import { createHash, scrypt } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { Trx } from '../store/database.js';
import { reusableInsert, reusableQuery } from '../store/reusable-query.js';
import { inTransaction } from '../store/transaction.js';
import { toProblem } from './problem.js';

/**
 * A request that holds its Idempotency-Key. `inUseCase` claims are not written up front: the
 * use case writes the key's row, with its answer, inside its own transaction
 * (`recordAnswer`), so a hot money write is one commit instead of three (claim, work, answer).
 */
export interface IdempotencyClaim {
  scope: string;
  key: string;
  fingerprint: string;
  inUseCase: boolean;
  /** Set once the row holds the answer, or when no answer may be stored (a lost race). */
  settled: boolean;
}

/** How long a stored answer is kept (the contract asks for at least 24 h). */
export const RETENTION_MS = 48 * 3600_000;
/** A request still "in flight" after this long is taken to be dead (its process crashed). */
const LEASE_MS = 60_000;

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

// Every (I) request inserts one: compiled once (see reusable-query.ts).
const insertKeys = reusableInsert('idempotency_keys', { onConflictDoNothing: ['scope', 'key'] });

/** True when a body carries card data (a card number or a verification code) anywhere. */
function carriesCardData(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object' || depth > 8) return false;
  return Object.entries(value).some(([k, v]) => k === 'card_number' || k === 'verification_code' || carriesCardData(v, depth + 1));
}

/**
 * What identifies "the same request" under one key. A fast hash of a body with a card number and
 * its verification code could be reversed from a copy of the database by trying the few unknown
 * digits (PCI DSS 3.3.1.2, 3.5.1.1), so such bodies get a slow scrypt hash salted with the key's
 * own scope and value: the same request still gives the same fingerprint, a guess costs ~25 ms.
 */
export async function fingerprint(method: string, url: string, body: unknown, salt: string): Promise<string> {
  const text = `${method} ${url}\n${canonical(body ?? null)}`;
  if (!carriesCardData(body)) return createHash('sha256').update(text).digest('hex');
  const derived = await new Promise<Buffer>((resolve, reject) =>
    scrypt(text, `topup-idempotency:${salt}`, 32, { N: 8_192, r: 8, p: 1, maxmem: 32 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
  return `scrypt:${derived.toString('hex')}`;
}

export function requireIdempotencyKey(request: FastifyRequest): string {
  const raw = request.headers['idempotency-key'];
  // Node joins a repeated header into one "a, b" string: ask for the lines as sent.
  if (Array.isArray(raw) || (request.raw.headersDistinct['idempotency-key']?.length ?? 0) > 1) {
    throw new AppError('VALIDATION_FAILED', 'send one Idempotency-Key header', {
      errors: [{ field: 'Idempotency-Key', message: 'sent more than once' }],
    });
  }
  if (raw === undefined || raw === '') throw new AppError('IDEMPOTENCY_KEY_REQUIRED', 'Idempotency-Key header is required');
  if (raw.length > 255) {
    throw new AppError('VALIDATION_FAILED', 'Idempotency-Key must be 1-255 characters', {
      errors: [{ field: 'Idempotency-Key', message: 'must be 1-255 characters' }],
    });
  }
  return raw;
}

/**
 * Claims the key for this request, or answers from it: replay of a finished request,
 * 422 for a different body, 409 while the first is running. Returns true when the caller
 * should go on and run the handler.
 */
export async function claimIdempotencyKey(
  ctx: Context,
  request: FastifyRequest,
  reply: FastifyReply,
  mode: 'up-front' | 'in-use-case' = 'up-front',
): Promise<boolean> {
  const key = requireIdempotencyKey(request);
  const scope = request.actor?.id ?? `ip:${request.ip}`;
  const print = await fingerprint(request.method, request.url, request.body, `${scope}\n${key}`);
  const now = ctx.clock.now();
  const nowIso = now.toISOString();
  const fresh = {
    fingerprint: print,
    state: 'in_flight',
    response_status: null,
    response_body: null,
    locked_until: new Date(now.getTime() + LEASE_MS).toISOString(),
    created_at: nowIso,
    expires_at: new Date(now.getTime() + RETENTION_MS).toISOString(),
  };
  const db = ctx.store.db;
  const claim = (inUseCase: boolean): IdempotencyClaim => ({ scope, key, fingerprint: print, inUseCase, settled: false });
  if (mode === 'in-use-case') {
    // Only a read here; a key seen for the first time is written by the use case itself.
    const seen = await db.selectFrom('idempotency_keys').select('key').where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
    if (!seen) {
      request.idempotency = claim(true);
      return true;
    }
  }
  // Writes go through inTransaction so that on SQLite they share commits with the
  // request's own transaction (group commit) instead of paying an fsync each.
  const inserted = await inTransaction(ctx.store, (trx) => insertKeys(trx, [{ scope, key, ...fresh }]));
  if (Number(inserted.numAffectedRows ?? 0) === 1) {
    request.idempotency = claim(false);
    return true;
  }

  const row = await db.selectFrom('idempotency_keys').selectAll().where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
  if (!row) {
    // Released (5xx) between our insert and read: the caller may simply retry.
    throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'the first request with this key is still running');
  }
  if (row.expires_at <= nowIso) {
    // Past retention: the key is free again. Guarded so only one request takes it.
    const taken = await inTransaction(ctx.store, (trx) =>
      trx
        .updateTable('idempotency_keys')
        .set(fresh)
        .where('scope', '=', scope)
        .where('key', '=', key)
        .where('expires_at', '=', row.expires_at)
        .executeTakeFirst(),
    );
    if (Number(taken.numUpdatedRows) === 1) {
      request.idempotency = claim(false);
      return true;
    }
    throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'the first request with this key is still running');
  }
  if (row.fingerprint !== print) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request');
  }
  if (row.state === 'done' && row.response_status !== null) {
    ctx.metrics.idempotentReplays.inc();
    request.idempotentReplay = true;
    await reply
      .code(row.response_status)
      .header('Idempotent-Replayed', 'true')
      .type(row.response_status >= 400 ? 'application/problem+json' : 'application/json; charset=utf-8')
      .send(row.response_body ?? '');
    return false;
  }
  if (row.locked_until > nowIso) {
    throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'the first request with this key is still running');
  }
  // The first request's process died mid-way. Take the key over; the use case's own request
  // key (stored on the purchase/recharge row) makes sure its effect cannot happen twice.
  const taken = await inTransaction(ctx.store, (trx) =>
    trx
      .updateTable('idempotency_keys')
      .set({ locked_until: fresh.locked_until })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .where('state', '=', 'in_flight')
      .where('locked_until', '=', row.locked_until)
      .executeTakeFirst(),
  );
  if (Number(taken.numUpdatedRows) !== 1) {
    throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'the first request with this key is still running');
  }
  request.idempotency = claim(false);
  return true;
}

/**
 * Writes an `in-use-case` claim's row with the answer, inside the use case's transaction. A row
 * already there means a request with the same key got in first (it was running when we looked):
 * `IDEMPOTENCY_KEY_IN_USE`, and the use case's transaction rolls back.
 */
export async function recordAnswer(trx: Trx, claim: IdempotencyClaim, status: number, body: string, now: Date): Promise<void> {
  const inserted = await insertKeys(trx, [
    {
      scope: claim.scope,
      key: claim.key,
      fingerprint: claim.fingerprint,
      state: 'done',
      response_status: status,
      response_body: body,
      locked_until: now.toISOString(),
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + RETENTION_MS).toISOString(),
    },
  ]);
  claim.settled = true;
  if (Number(inserted.numAffectedRows ?? 0) !== 1) {
    throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'the first request with this key is still running');
  }
}

/**
 * For an `in-use-case` route: what its use case calls inside its transaction to record the
 * answer (`status` with the object) or its refusal (exactly the problem document the error
 * handler sends for this request). Undefined for an up-front claim, whose hooks store the answer.
 */
export function recordInUseCase<View>(
  ctx: Context,
  request: FastifyRequest,
  status: number,
): { answer: (trx: Trx, view: View) => Promise<void>; refusal: (trx: Trx, error: AppError) => Promise<void> } | undefined {
  const claim = request.idempotency;
  if (!claim?.inUseCase) return undefined;
  return {
    answer: (trx, view) => recordAnswer(trx, claim, status, JSON.stringify(view), ctx.clock.now()),
    refusal: (trx, error) => {
      const problem = toProblem(error, request.language, request.id);
      return recordAnswer(trx, claim, problem.status, JSON.stringify(problem), ctx.clock.now());
    },
  };
}

/**
 * Stores the answer for replay. 5xx and 429 answers are not stored: the key is released so a
 * retry can run again (nothing was done).
 */
export async function completeIdempotencyKey(ctx: Context, claim: IdempotencyClaim, status: number, body: string): Promise<void> {
  if (claim.inUseCase) {
    // The use case refused (a 4xx problem) before recording anything: keep that answer for
    // replays, as an up-front claim would. Nothing to release on 5xx: nothing was written.
    // 409 here is IDEMPOTENCY_KEY_IN_USE (a twin holds the key): never an answer to keep.
    if (claim.settled || status >= 500 || status === 429 || status === 409) return;
    await inTransaction(ctx.store, (trx) => recordAnswer(trx, claim, status, body, ctx.clock.now())).catch((error: unknown) => {
      // Another request with the key recorded its answer meanwhile; that one stands.
      if (!(error instanceof AppError)) throw error;
    });
    return;
  }
  await inTransaction(ctx.store, async (trx) => {
    if (status >= 500 || status === 429) {
      await trx.deleteFrom('idempotency_keys').where('scope', '=', claim.scope).where('key', '=', claim.key).execute();
      return;
    }
    await storeAnswer(trx, ['done', status, body, claim.scope, claim.key]);
  });
}

// Every up-front (I) request ends with it: compiled once (see reusable-query.ts).
const storeAnswer = reusableQuery(5, (db, value) =>
  db
    .updateTable('idempotency_keys')
    .set({ state: value(0), response_status: value(1), response_body: value(2) })
    .where('scope', '=', value(3))
    .where('key', '=', value(4)),
);

/** Retention cleanup, run by the worker on a schedule. */
export async function purgeExpiredIdempotencyKeys(ctx: Context): Promise<number> {
  const result = await ctx.store.db
    .deleteFrom('idempotency_keys')
    .where('expires_at', '<', ctx.clock.now().toISOString())
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
