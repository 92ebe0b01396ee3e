import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** Which store the suite runs on: PostgreSQL when DATABASE_URL is set, else SQLite. */
export const DIALECT: 'sqlite' | 'postgres' = process.env.DATABASE_URL ? 'postgres' : 'sqlite';

export interface TestDatabase {
  /** `postgres://…/topup_t_xxx` on PostgreSQL, null on SQLite. */
  databaseUrl: string | null;
  /** A fresh directory (the SQLite file lives here; evidence and mail drops too). */
  dataDir: string;
  drop(): Promise<void>;
}

/** A fresh, empty database per suite: tests never see each other's rows or leftovers. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'topup-test-'));
  const base = process.env.DATABASE_URL;
  if (!base) {
    return {
      databaseUrl: null,
      dataDir,
      async drop() {
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const name = `topup_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    dataDir,
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
