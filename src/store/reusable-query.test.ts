import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../../test/support/test-store.js';
import { reusableInsert, reusableQuery } from './reusable-query.js';
import { inTransaction } from './transaction.js';

describe('reusable queries (compiled once, run with each call values)', () => {
  let ts: TestStore;
  beforeAll(async () => {
    ts = await openTestStore();
  });
  afterAll(async () => {
    await ts?.close();
  });

  const insertEvents = reusableInsert('events', {
    onConflictDoNothing: ['id'],
  });
  const event = (id: string, data: string) => ({
    id,
    customer_id: 'usr_x',
    type: 'recharge.succeeded',
    subject_id: 'rch_x',
    data,
    created_at: '2026-11-26T00:00:00.000Z',
  });

  it('binds each call its own values, for one row and for several, and honours on conflict do nothing', async () => {
    const one = await insertEvents(ts.store.db, [event('evt_a', '{"n":1}')]);
    expect(Number(one.numAffectedRows)).toBe(1);
    const two = await insertEvents(
      ts.store.db,
      [event('evt_b', '{"n":2}'), event('evt_c', null as never)].map((e, i) => ({ ...e, data: `{"i":${i}}` })),
    );
    expect(Number(two.numAffectedRows)).toBe(2);
    const again = await insertEvents(ts.store.db, [event('evt_a', '{"n":99}')]);
    expect(Number(again.numAffectedRows)).toBe(0);
    const rows = await ts.store.db.selectFrom('events').select(['id', 'data']).orderBy('id').execute();
    expect(rows).toEqual([
      { id: 'evt_a', data: '{"n":1}' },
      { id: 'evt_b', data: '{"i":0}' },
      { id: 'evt_c', data: '{"i":1}' },
    ]);
  });

  it('runs inside a transaction like any query', async () => {
    const select = reusableQuery<{ id: string }>(1, (db, value) => db.selectFrom('events').select('id').where('id', '=', value(0)));
    await ts.store.db.transaction().execute(async (trx) => {
      await insertEvents(trx, [event('evt_t', '{}')]);
      expect((await select(trx, ['evt_t'])).rows).toEqual([{ id: 'evt_t' }]);
    });
    expect((await select(ts.store.db, ['evt_missing'])).rows).toEqual([]);
  });

  it('refuses a builder that does not bind every value exactly once, and a wrong number of values', async () => {
    const twice = reusableQuery(1, (db, value) =>
      db.selectFrom('events').select('id').where('id', '=', value(0)).where('type', '=', value(0)),
    );
    await expect(twice(ts.store.db, ['x'])).rejects.toThrow(/exactly once/);
    const constant = reusableQuery(1, (db, value) =>
      db.selectFrom('events').select('id').where('id', '=', value(0)).where('type', '=', 'fixed'),
    );
    await expect(constant(ts.store.db, ['x'])).rejects.toThrow(/exactly once/);
    const select = reusableQuery(1, (db, value) => db.selectFrom('events').select('id').where('id', '=', value(0)));
    await expect(select(ts.store.db, [])).rejects.toThrow(/expected 1 values/);
    await expect(insertEvents(ts.store.db, [{ ...event('evt_u', '{}'), data: undefined as never }])).rejects.toThrow(/data is undefined/);
  });
});

describe('cached statements survive a table changing shape (a migration by another process)', () => {
  let ts: TestStore;
  beforeAll(async () => {
    // One connection on PostgreSQL, so the statement prepared before the change is the one asked again.
    ts = await openTestStore({ poolSize: 1 });
  });
  afterAll(async () => {
    await ts?.close();
  });

  it('answers `select *` after a column is added, outside and inside a transaction', async () => {
    const db = ts.store.db;
    const selectAll = () => db.selectFrom('events').selectAll().where('id', '=', 'evt_shape').execute();
    const insert = reusableInsert('events');
    await insert(db, [
      { id: 'evt_shape', customer_id: 'usr_x', type: 't', subject_id: 's', data: '{}', created_at: '2026-11-26T00:00:00.000Z' },
    ]);
    expect(await selectAll()).toHaveLength(1);
    await sql`alter table events add column shape_probe text`.execute(db);
    const after = await selectAll();
    expect(after).toHaveLength(1);
    expect(after[0]).toHaveProperty('shape_probe', null);
    await sql`alter table events add column shape_probe_2 text`.execute(db);
    const inside = await inTransaction(ts.store, (trx) => trx.selectFrom('events').selectAll().where('id', '=', 'evt_shape').execute());
    expect(inside[0]).toHaveProperty('shape_probe_2', null);
  });
});
