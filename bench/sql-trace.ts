/**
 * Preload for profiling runs (`BENCH_PROFILE=1`): times the server's SQL by statement text,
 * without touching src/. A CPU profile only says "executeQuery"; this says which statements, how
 * many per request, what COMMIT costs and, on PostgreSQL, how long requests wait for a pooled
 * connection.
 * - SQLite: better-sqlite3's prepare, run/get/all and exec — synchronous, on the main thread.
 * - PostgreSQL: pg's `Client#query` from call to answer (a round trip, including the server's
 *   work and any fsync at COMMIT) and `Pool#connect` (time spent waiting for a connection).
 *
 *   node --import tsx --import ./bench/sql-trace.ts src/cli/main.ts serve
 *   BENCH_SQL_TRACE_FILE=out.json; SIGUSR2 toggles recording (off at start); written at exit.
 */
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

interface Stat {
  calls: number;
  ns: number;
  prepares: number;
  prepareNs: number;
}

export interface SqlTrace {
  dialect: 'sqlite' | 'postgres';
  /** Nanoseconds spent recording (the sum of the windows between SIGUSR2 pairs). */
  recordedNs: number;
  /** HTTP responses the server finished while recording: the per-request denominator. */
  responses: number;
  statements: Record<string, Stat>;
}

type Fn = (this: unknown, ...args: unknown[]) => unknown;

const out = process.env.BENCH_SQL_TRACE_FILE;
if (out) {
  const require = createRequire(path.join(path.resolve(import.meta.dirname, '..'), 'package.json'));
  const Database = require('better-sqlite3') as { prototype: Record<string, Fn> };
  const pg = require('pg') as { Client: { prototype: Record<string, Fn> }; Pool: { prototype: Record<string, Fn> } };
  let dialect: SqlTrace['dialect'] = 'sqlite';
  const stats = new Map<string, Stat>();
  let recording = false;
  let windowStart = 0n;
  let recordedNs = 0n;

  const statFor = (source: unknown): Stat => {
    const key = String(source).replace(/\s+/g, ' ').trim().slice(0, 200);
    let stat = stats.get(key);
    if (!stat) {
      stat = { calls: 0, ns: 0, prepares: 0, prepareNs: 0 };
      stats.set(key, stat);
    }
    return stat;
  };

  const timed = (original: Fn, onDone: (self: unknown, args: unknown[], ns: number) => void): Fn =>
    function (this: unknown, ...args: unknown[]) {
      if (!recording) return original.apply(this, args);
      const started = process.hrtime.bigint();
      try {
        return original.apply(this, args);
      } finally {
        onDone(this, args, Number(process.hrtime.bigint() - started));
      }
    };

  let statementPatched = false;
  const patchStatement = (statement: unknown) => {
    statementPatched = true;
    const proto = Object.getPrototypeOf(statement) as Record<string, Fn>;
    for (const name of ['run', 'get', 'all'] as const) {
      const original = proto[name];
      if (!original) continue;
      proto[name] = timed(original, (self, _args, ns) => {
        const stat = statFor((self as { source: string }).source);
        stat.calls++;
        stat.ns += ns;
      });
    }
  };

  const prepare = Database.prototype.prepare as Fn;
  Database.prototype.prepare = function (this: unknown, ...args: unknown[]) {
    const started = process.hrtime.bigint();
    const statement = prepare.apply(this, args);
    if (!statementPatched) patchStatement(statement);
    if (recording) {
      const stat = statFor(args[0]);
      stat.prepares++;
      stat.prepareNs += Number(process.hrtime.bigint() - started);
    }
    return statement;
  };
  const exec = Database.prototype.exec as Fn;
  Database.prototype.exec = timed(exec, (_self, args, ns) => {
    const stat = statFor(args[0]);
    stat.calls++;
    stat.ns += ns;
  });

  /** Times a promise-returning method from call to settlement (callback-style calls pass through). */
  const timedAsync = (original: Fn, keyOf: (args: unknown[]) => string): Fn =>
    function (this: unknown, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (!recording || !(result instanceof Promise)) return result;
      dialect = 'postgres';
      const started = process.hrtime.bigint();
      const stat = statFor(keyOf(args));
      const done = () => {
        stat.calls++;
        stat.ns += Number(process.hrtime.bigint() - started);
      };
      result.then(done, done);
      return result;
    };
  const sqlText = (args: unknown[]) => {
    const first = args[0];
    return typeof first === 'string' ? first : String((first as { text?: unknown } | null)?.text ?? '(query object)');
  };
  pg.Client.prototype.query = timedAsync(pg.Client.prototype.query as Fn, sqlText);
  pg.Pool.prototype.connect = timedAsync(pg.Pool.prototype.connect as Fn, () => '(wait for a pooled connection)');

  let responses = 0;
  const end = http.ServerResponse.prototype.end as unknown as Fn;
  http.ServerResponse.prototype.end = function (this: unknown, ...args: unknown[]) {
    if (recording) responses++;
    return end.apply(this, args);
  } as unknown as typeof http.ServerResponse.prototype.end;

  process.on('SIGUSR2', () => {
    const now = process.hrtime.bigint();
    if (recording) recordedNs += now - windowStart;
    else windowStart = now;
    recording = !recording;
  });
  process.on('exit', () => {
    if (recording) recordedNs += process.hrtime.bigint() - windowStart;
    const trace: SqlTrace = { dialect, recordedNs: Number(recordedNs), responses, statements: Object.fromEntries(stats) };
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(trace));
  });
}
