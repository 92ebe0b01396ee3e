import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Sample } from './load.js';
import { onCleanup, runCommand } from './processes.js';
import { percentile } from './stats.js';

/** The server to benchmark on: BENCH_DATABASE_URL, else DATABASE_URL, else the local default. */
export function baseDatabaseUrl(): string {
  return process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** Answers null when PostgreSQL answers; else why not. */
export async function postgresUnavailable(base: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: base, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh database on the same server; dropped by `drop()` or, whatever happens, at cleanup. */
export async function createScratchDatabase(base: string, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      await client.query(`drop database if exists ${name} with (force)`);
    } finally {
      await client.end();
    }
  };
  const unregister = onCleanup(`drop database ${name}`, drop);
  return {
    name,
    url: url.toString(),
    async drop() {
      unregister();
      await drop();
    },
  };
}

export async function serverSetting(base: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    const result = await client.query<{ setting: string }>('select setting from pg_settings where name = $1', [name]);
    return result.rows[0]?.setting ?? '?';
  } finally {
    await client.end();
  }
}

/**
 * The server's WAL flushes so far (`pg_stat_wal.wal_sync`, PostgreSQL 14+; null before). The
 * difference over a run, against the transactions it committed, shows how many commits each
 * flush carried: PostgreSQL's own group commit across connections.
 */
export async function walFlushes(base: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    const result = await client.query<{ wal_sync: string }>('select wal_sync from pg_stat_wal');
    const value = result.rows[0]?.wal_sync;
    return value === undefined ? null : Number(value);
  } catch {
    return null;
  } finally {
    await client.end();
  }
}

export async function pgbenchInit(url: string, scale: number): Promise<void> {
  await runCommand('pgbench', ['-i', '-q', '-s', String(scale), url], { timeoutMs: 180_000 });
}

/**
 * `pgbench -c N -j 2 -T s -M prepared` (tpcb-like, the default script), with a per-transaction
 * log in `logDir` for latency percentiles. tps excludes the initial connection time.
 */
export async function pgbenchRun(url: string, clients: number, seconds: number, logDir: string): Promise<Sample> {
  fs.rmSync(logDir, { recursive: true, force: true });
  fs.mkdirSync(logDir, { recursive: true });
  const prefix = path.join(logDir, 'tx');
  const out = await runCommand(
    'pgbench',
    ['-c', String(clients), '-j', '2', '-T', String(seconds), '-M', 'prepared', '-l', `--log-prefix=${prefix}`, url],
    { timeoutMs: (seconds + 120) * 1000 },
  );
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
  const processed = /number of transactions actually processed: (\d+)/.exec(out);
  const failed = /number of failed transactions: (\d+)/.exec(out);
  if (!tps || !processed) throw new Error(`could not parse pgbench output:\n${out}`);
  const latencies: number[] = [];
  for (const file of fs.readdirSync(logDir)) {
    for (const line of fs.readFileSync(path.join(logDir, file), 'utf8').split('\n')) {
      // client_id transaction_no time(µs) script_no time_epoch time_us
      const micros = Number(line.split(' ')[2]);
      if (Number.isFinite(micros) && line !== '') latencies.push(micros / 1000);
    }
  }
  fs.rmSync(logDir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return {
    rate: Number(tps[1]),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    count: Number(processed[1]),
    seconds,
    failures: failed ? Number(failed[1]) : 0,
  };
}
