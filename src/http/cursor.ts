import { AppError } from '../domain/errors.js';

/** Opaque list cursors: base64url of the position the next page starts after. */
export function encodeCursor(position: string | number): string {
  return Buffer.from(JSON.stringify({ p: position })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | number | null {
  if (!cursor) return null;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { p?: unknown };
    if (typeof parsed.p === 'string' || typeof parsed.p === 'number') return parsed.p;
  } catch {
    // fall through
  }
  throw new AppError('VALIDATION_FAILED', 'cursor is not valid', { errors: [{ field: 'cursor', message: 'not a cursor from this list' }] });
}

export function decodeNumericCursor(cursor: string | undefined): number | null {
  const position = decodeCursor(cursor);
  if (position === null) return null;
  if (typeof position !== 'number' || !Number.isSafeInteger(position)) {
    throw new AppError('VALIDATION_FAILED', 'cursor is not valid', {
      errors: [{ field: 'cursor', message: 'not a cursor from this list' }],
    });
  }
  return position;
}
