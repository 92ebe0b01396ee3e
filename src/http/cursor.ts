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

/**
 * Cuts a page from rows fetched with `limit + 1` (newest first): the extra row only tells that
 * there is more, and the cursor points after the page's last row.
 */
export function pageOf<T>(rows: T[], limit: number, positionOf: (row: T) => string | number): { page: T[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, next_cursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null };
}
