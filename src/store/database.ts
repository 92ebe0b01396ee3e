import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { GroupCommitter } from './group-commit.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Database>;
export type Trx = Transaction<Database>;
/** Either the database or an open transaction: repository functions accept both. */
export type Executor = Db | Trx;

export interface Store {
  db: Db;
  dialect: Dialect;
  /** Set when write transactions share commits (SQLite); see group-commit.ts. */
  groupCommit: GroupCommitter | null;
  close(): Promise<void>;
}

// bigint columns hold fen; every amount we allow is far inside Number's safe range, so parse
// them to numbers instead of strings. SUM() answers numeric (1700) on PostgreSQL.
pg.types.setTypeParser(20, (value) => Number(value));
pg.types.setTypeParser(1700, (value) => Number(value));

export interface StoreOptions {
  databaseUrl: string | null;
  dataDir: string;
  poolSize?: number;
  /** Share commits between concurrent write transactions (SQLite; default on). */
  groupCommit?: boolean;
}

export function openStore(options: StoreOptions): Store {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
    });
    // An idle client that errors (server restart) must not crash the process.
    pool.on('error', () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: withNamedStatements(pool) }) });
    return { db, dialect: 'postgres', groupCommit: null, close: () => db.destroy() };
  }

  fs.mkdirSync(options.dataDir, { recursive: true });
  const file = path.join(options.dataDir, 'topup.sqlite');
  const sqlite = new SqliteDatabase(file);
  // WAL lets readers (topup verify, the console) run beside the writer.
  sqlite.pragma('journal_mode = WAL');
  // FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss, and an
  // acknowledged recharge or purchase must survive that. Group commit (not weaker syncing)
  // is how we buy speed back.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  const store: Store = { db, dialect: 'sqlite', groupCommit: null, close: () => db.destroy() };
  if (options.groupCommit !== false) store.groupCommit = new GroupCommitter(store);
  return store;
}

/**
 * Kysely's SQLite driver prepares every statement on every call, and preparing costs more than
 * running most of our statements (bench profiles: 60 % of a purchase's SQLite time). Our SQL
 * texts are few — parameters are bound, never inlined — so a prepared statement is kept per
 * text. Safe because better-sqlite3 runs one statement to completion before the next starts
 * (we never stream with `iterate`, which would hold a statement open).
 */
function withStatementCache(sqlite: SqliteDatabase.Database, limit = 1_000) {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string): SqliteDatabase.Statement {
      let statement = statements.get(text);
      if (!statement) {
        // A bound on the cache in case some caller does inline values; oldest text goes first.
        if (statements.size >= limit) statements.delete(statements.keys().next().value as string);
        statement = sqlite.prepare(text);
        statements.set(text, statement);
      }
      return statement;
    },
  };
}

/**
 * The PostgreSQL side of the same saving: Kysely sends every query unnamed, so the server
 * parses and plans it each time (bench profiles: ~7,000 statements/s where pgbench's prepared
 * ones reach 30,000). Naming a statement by its text makes `pg` prepare it once per connection
 * and send only Bind/Execute afterwards.
 */
function withNamedStatements(pool: pg.Pool) {
  const names = new Map<string, string>();
  // Bumped when the server refuses a prepared statement whose table changed shape under it
  // (another process migrated): the text is prepared again under a new name.
  const generations = new Map<string, number>();
  const nameOf = (text: string): string => {
    let name = names.get(text);
    if (!name) {
      const generation = generations.get(text) ?? 0;
      name = `q_${createHash('sha256').update(text).digest('hex').slice(0, 24)}_${generation}`;
      names.set(text, name);
    }
    return name;
  };
  const forget = (text: string): void => {
    names.delete(text);
    generations.set(text, (generations.get(text) ?? 0) + 1);
  };
  const patched = new WeakSet<pg.PoolClient>();
  return {
    async connect(): Promise<pg.PoolClient> {
      const client = await pool.connect();
      if (!patched.has(client)) {
        patched.add(client);
        const query = client.query.bind(client) as (config: pg.QueryConfig) => Promise<pg.QueryResult>;
        let inTransaction = false;
        const named = async (text: string, values: unknown[] | undefined): Promise<pg.QueryResult> => {
          const verb = text.trimStart().slice(0, 8).toLowerCase();
          if (verb.startsWith('begin')) inTransaction = true;
          else if (verb.startsWith('commit') || verb.startsWith('rollback')) inTransaction = false;
          try {
            return await query({ name: nameOf(text), text, values });
          } catch (error) {
            if (!isStalePlan(error)) throw error;
            forget(text);
            // Outside a transaction, ask again at once; inside, the transaction is aborted and
            // inTransaction() runs it again (the next attempt prepares the new name).
            if (inTransaction) throw error;
            return query({ name: nameOf(text), text, values });
          }
        };
        // Kysely calls query(text, values) and, for streams, query(cursor): name only the former.
        client.query = ((textOrConfig: unknown, values?: unknown[]) =>
          typeof textOrConfig === 'string' ? named(textOrConfig, values) : query(textOrConfig as pg.QueryConfig)) as typeof client.query;
      }
      return client;
    },
    end: () => pool.end(),
  };
}

/** PostgreSQL's refusal of a prepared statement whose result shape changed (`0A000`). */
export function isStalePlan(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type');
}
