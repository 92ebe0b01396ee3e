import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../../test/support/test-store.js';
import { GroupCommitter } from './group-commit.js';
import type { inTransaction } from './transaction.js';

/** Group commit may batch, but never weaken: isolation per operation, durability per answer. */
describe('GroupCommitter', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await openTestStore();
  });
  afterAll(async () => {
    await t?.close();
  });

  async function auditCount(prefix: string): Promise<number> {
    const row = await sql<{ n: number }>`select count(*) as n from audit_log where action like ${`${prefix}%`}`.execute(t.store.db);
    return Number(row.rows[0]?.n ?? 0);
  }
  function insertAudit(action: string) {
    return (trx: Parameters<Parameters<typeof inTransaction>[1]>[0]) =>
      trx
        .insertInto('audit_log')
        .values({
          id: `aud_${action}`,
          actor: 'test',
          action,
          target_type: 't',
          target_id: 't',
          data: '{}',
          created_at: new Date().toISOString(),
        })
        .execute();
  }

  it('one failing operation rolls back alone; its neighbours in the same batch commit', async () => {
    const committer = new GroupCommitter(t.store);
    const results = await Promise.allSettled([
      committer.run(insertAudit('batch-a')),
      committer.run(async (trx) => {
        await insertAudit('batch-b')(trx);
        throw new Error('refused');
      }),
      committer.run(insertAudit('batch-c')),
      committer.run(insertAudit('batch-a')), // duplicate primary key: fails alone
      committer.run(insertAudit('batch-d')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    const names = (await t.store.db.selectFrom('audit_log').select('action').where('action', 'like', 'batch-%').execute())
      .map((r) => r.action)
      .sort();
    expect(names).toEqual(['batch-a', 'batch-c', 'batch-d']);
  });

  it('answers only after the commit: every resolved operation is visible to a fresh reader', async () => {
    const committer = new GroupCommitter(t.store);
    const done = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        committer.run(async (trx) => {
          await insertAudit(`durable-${i}`)(trx);
          return i;
        }),
      ),
    );
    expect(done).toHaveLength(50);
    expect(await auditCount('durable-')).toBe(50);
  });

  it('a commit that fails rejects every operation of its batch', async () => {
    const committer = new GroupCommitter(t.store);
    // A deferred constraint that only fails at COMMIT is dialect-specific; simulate it with a
    // store whose transaction cannot begin.
    const broken = new GroupCommitter({
      ...t.store,
      db: { transaction: () => ({ execute: async () => Promise.reject(new Error('disk full')) }) } as never,
    });
    const results = await Promise.allSettled([broken.run(insertAudit('never-1')), broken.run(insertAudit('never-2'))]);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(await auditCount('never-')).toBe(0);
    expect(await committer.run(async () => 'still works')).toBe('still works');
  });

  it('is what inTransaction uses on SQLite', () => {
    expect(t.store.groupCommit !== null).toBe(t.store.dialect === 'sqlite');
  });
});
