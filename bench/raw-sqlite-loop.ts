/**
 * The naive ceiling for purchases on SQLite: one connection, one operation per commit — a guarded
 * balance update plus a journal insert, `synchronous=FULL`, WAL — in a tight loop for a fixed time.
 * No HTTP, no idempotency, no double entry: what one fsync per purchase allows at most.
 *
 *   node --import tsx bench/raw-sqlite-loop.ts --file DIR/raw.sqlite --seconds 10 --accounts 200
 *
 * Prints one JSON line: {rate, p50, p99, count, seconds, failures}.
 */
import { parseArgs } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import { percentile } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    file: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    accounts: { type: 'string', default: '200' },
  },
});
if (!values.file) throw new Error('--file is required');
const seconds = Number(values.seconds);
const accounts = Number(values.accounts);

const db = new SqliteDatabase(values.file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(`
  create table if not exists accounts (id integer primary key, balance integer not null check (balance >= 0));
  create table if not exists journal (
    id integer primary key autoincrement,
    account_id integer not null,
    amount integer not null,
    request_key text not null,
    created_at text not null
  );
`);
const count = (db.prepare('select count(*) as n from accounts').get() as { n: number }).n;
if (count === 0) {
  const insert = db.prepare('insert into accounts (id, balance) values (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < accounts; i++) insert.run(i, 1_000_000_000);
  })();
}

const begin = db.prepare('begin immediate');
const commit = db.prepare('commit');
const rollback = db.prepare('rollback');
const debit = db.prepare('update accounts set balance = balance - ? where id = ? and balance >= ?');
const journal = db.prepare('insert into journal (account_id, amount, request_key, created_at) values (?, ?, ?, ?)');

const latencies: number[] = [];
let done = 0;
let failures = 0;
const started = process.hrtime.bigint();
const until = started + BigInt(Math.round(seconds * 1e9));
for (let i = 0; ; i++) {
  const t0 = process.hrtime.bigint();
  if (t0 >= until) break;
  const account = i % accounts;
  begin.run();
  const changed = debit.run(1, account, 1).changes;
  if (changed === 1) {
    journal.run(account, -1, `raw-${i}`, new Date().toISOString());
    commit.run();
    done++;
  } else {
    rollback.run();
    failures++;
  }
  latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
db.close();
latencies.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    rate: done / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    count: done,
    seconds: elapsed,
    failures,
  }),
);
