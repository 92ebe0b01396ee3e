import type { Selectable } from 'kysely';
import { AppError } from '../domain/errors.js';
import type { Executor } from '../store/database.js';
import type { Database } from '../store/schema.js';

/** Tables whose rows belong to one customer (`customer_id`) and are read by their owner. */
type OwnedTable = 'recharges' | 'refunds';

/**
 * The caller's own row, or `NOT_FOUND`: another customer's object must be indistinguishable
 * from one that does not exist (no 403 that would confirm the id).
 */
export async function findOwnedOrNotFound<T extends OwnedTable>(
  db: Executor,
  table: T,
  id: string,
  customerId: string,
  what: string,
): Promise<Selectable<Database[T]>> {
  // Kysely's typed builders cannot follow a table chosen by a type parameter; the signature checks it.
  const row = await db
    .selectFrom(table as 'recharges')
    .selectAll()
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .executeTakeFirst();
  if (!row) throw new AppError('NOT_FOUND', `no such ${what}`);
  return row as Selectable<Database[T]>;
}
