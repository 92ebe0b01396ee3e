import { openStore, type Store } from '../../src/store/database.js';
import { migrateToLatest } from '../../src/store/migrations.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface TestStore {
  store: Store;
  database: TestDatabase;
  /** Closes the store, then drops the database. */
  close(): Promise<void>;
}

/** A migrated store on a fresh database of the suite's dialect, for tests below the HTTP layer. */
export async function openTestStore(options: { poolSize?: number } = {}): Promise<TestStore> {
  const database = await createTestDatabase();
  const store = openStore({ databaseUrl: database.databaseUrl, dataDir: database.dataDir, poolSize: options.poolSize ?? 10 });
  await migrateToLatest(store.db as never, store.dialect);
  return {
    store,
    database,
    async close() {
      await store.close();
      await database.drop();
    },
  };
}
