/**
 * `npm run bench`: every Topup figure next to its baseline, measured in the same run on the same
 * machine, each the median of several runs. Prints a table and writes a timestamped JSON under
 * bench/results/ (git ignores it); a full run of every section also writes latest.json and
 * latest.md, the committed copy docs/performance.md quotes.
 *
 *   BENCH_QUICK=1     1 run × 3 s per figure (≈ 1.5 min) instead of 3 runs × 10 s (≈ 7 min)
 *   BENCH_RUNS, BENCH_SECONDS, BENCH_CUSTOMERS   override the mode's numbers
 *   BENCH_ONLY=sqlite,balance,recharges,postgres  run some sections only
 *   BENCH_PROFILE=1   run the servers under `node --cpu-prof` with bench/sql-trace.ts preloaded
 *                     (one server per section) and summarise each into bench/results/profile-<section>.txt
 *   BENCH_DATABASE_URL (else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres)
 *                     the PostgreSQL server; the harness creates and drops its own databases there
 *
 * Loopback only. Every process and database the harness starts is stopped or dropped at the end,
 * on Ctrl-C, and when the time limit (15 min full, 4 min quick) runs out.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { type Sample, purchaseRequests, readRequests, rechargeRequests, runHttp } from './lib/load.js';
import {
  baseDatabaseUrl,
  createScratchDatabase,
  pgbenchInit,
  pgbenchRun,
  postgresUnavailable,
  serverSetting,
  walFlushes,
} from './lib/postgres.js';
import { ROOT, cleanupAll, freePort, onCleanup, runCommand, startChild, waitReady } from './lib/processes.js';
import { type Figure, type Summary, markdownTable, summarise, textTable } from './lib/report.js';
import { type Customer, type TopupServer, seedCustomers, startTopup } from './lib/topup.js';
import { formatProfileSummary, formatSqlTrace, summariseProfile } from './profile-summary.js';
import type { SqlTrace } from './sql-trace.js';

const QUICK = process.env.BENCH_QUICK === '1';
const PROFILE = process.env.BENCH_PROFILE === '1';
const RUNS = Number(process.env.BENCH_RUNS || (QUICK ? 1 : 3));
const SECONDS = Number(process.env.BENCH_SECONDS || (QUICK ? 3 : 10));
const WARMUP = QUICK ? 1 : 2;
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS || (QUICK ? 100 : 200));
const ALL_SECTIONS = ['sqlite', 'balance', 'recharges', 'postgres'] as const;
type Section = (typeof ALL_SECTIONS)[number];
const SECTIONS = new Set<Section>(
  process.env.BENCH_ONLY ? (process.env.BENCH_ONLY.split(',').map((s) => s.trim()) as Section[]) : ALL_SECTIONS,
);
const TIME_LIMIT_MS = (QUICK ? 4 : 15) * 60_000;
const RESULTS = path.join(ROOT, 'bench/results');
/** Enough for every purchase of every run at 1 fen each. */
const FUNDING = 1_000_000_000;

const startedAt = new Date();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'topup-bench-'));
onCleanup('scratch dir', async () => {
  fs.rmSync(scratch, { recursive: true, force: true });
});
const profileDir = path.join(scratch, 'profiles');

function log(message: string): void {
  const elapsed = ((Date.now() - startedAt.getTime()) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${elapsed}s] ${message}\n`);
}

function prefixed(prefix: string, values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`${prefix}${k}`, v]));
}

function describe(sample: Sample): string {
  const failures = sample.failures > 0 ? `, ${sample.failures} failed` : '';
  return `${Math.round(sample.rate)}/s, p50 ${sample.p50.toFixed(2)} ms, p99 ${sample.p99.toFixed(2)} ms${failures}`;
}

const figures: Figure[] = [];
const notes: string[] = [];

// ---------------------------------------------------------------------------------------------
// Servers

interface Seeded {
  server: TopupServer;
  customers: Customer[];
  tokens: string[];
}

async function seededTopup(name: string, databaseUrl: string | null): Promise<Seeded> {
  const dataDir = path.join(scratch, name);
  log(`starting topup serve (${name}) on ${dataDir}${PROFILE ? ' under --cpu-prof' : ''}`);
  const server = await startTopup({
    dataDir,
    databaseUrl,
    cpuProfDir: PROFILE ? path.join(profileDir, name) : null,
    sqlTraceFile: PROFILE ? path.join(profileDir, `${name}.sql.json`) : null,
  });
  const seedStart = Date.now();
  const customers = await seedCustomers(server, CUSTOMERS, FUNDING);
  log(`${name}: ${customers.length} customers registered and funded in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);
  return { server, customers, tokens: customers.map((c) => c.token) };
}

/** Measured windows per server (µs, monotonic clock): profiles are summarised over these only. */
const windows = new Map<string, [number, number][]>();
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** One measured run against a Topup server (warm-ups do not go through here). */
async function measure(seeded: Seeded, load: Parameters<typeof runHttp>[0]): Promise<Sample> {
  // Under BENCH_PROFILE, SIGUSR2 switches the server's SQL trace on for this run and off after.
  if (PROFILE) seeded.server.process.child.kill('SIGUSR2');
  const from = nowUs();
  const sample = await runHttp(load);
  const name = path.basename(seeded.server.dataDir);
  windows.set(name, [...(windows.get(name) ?? []), [from, nowUs()]]);
  assertAlive(seeded);
  if (PROFILE) seeded.server.process.child.kill('SIGUSR2');
  return sample;
}

const SERVER_NAMES: Record<Section, string> = {
  sqlite: 'sqlite-purchases',
  balance: 'sqlite-balance',
  recharges: 'sqlite-recharges',
  postgres: 'postgres',
};

let sharedSqlite: Seeded | null = null;
/** One SQLite server for every SQLite section, except under --cpu-prof (one per section, one profile each). */
async function sqliteServer(section: Section): Promise<Seeded> {
  if (PROFILE) return seededTopup(SERVER_NAMES[section], null);
  if (!sharedSqlite) sharedSqlite = await seededTopup('sqlite', null);
  return sharedSqlite;
}
async function releaseSqlite(seeded: Seeded): Promise<void> {
  if (seeded !== sharedSqlite) {
    await seeded.server.stop();
    await verifyStore(path.basename(seeded.server.dataDir), seeded.server.dataDir, null);
  }
}

/** `topup verify` on the store a server left: the figures only count if the ledger still balances. */
async function verifyStore(name: string, dataDir: string, databaseUrl: string | null): Promise<void> {
  try {
    const out = await runCommand(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'verify'], {
      env: { ...process.env, LOG_LEVEL: 'warn', DATA_DIR: dataDir, DATABASE_URL: databaseUrl ?? '' },
      timeoutMs: 180_000,
    });
    const ledger = out.split('\n').find((l) => l.startsWith('ledger')) ?? '';
    notes.push(`topup verify (${name}) after the runs: clean; ${ledger}`);
    log(`topup verify (${name}): clean`);
  } catch (error) {
    notes.push(`topup verify (${name}) after the runs FAILED: ${String(error).slice(0, 500)}`);
    log(`topup verify (${name}) failed: ${String(error)}`);
  }
}

/** A server that died under load makes every later figure meaningless: stop with its last words. */
function assertAlive(seeded: Seeded): void {
  const child = seeded.server.process.child;
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new Error(
      `topup serve (${path.basename(seeded.server.dataDir)}) died under load (${child.exitCode ?? child.signalCode}):\n${seeded.server.process.output().slice(-4000)}`,
    );
  }
}

async function warmUp(load: Parameters<typeof runHttp>[0], seeded?: Seeded): Promise<void> {
  await runHttp({ ...load, seconds: WARMUP });
  if (seeded) assertAlive(seeded);
}

async function rawSqliteLoop(file: string, seconds: number): Promise<Sample> {
  const child = startChild(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'bench/raw-sqlite-loop.ts'),
      '--file',
      file,
      '--seconds',
      String(seconds),
      '--accounts',
      String(CUSTOMERS),
    ],
    {},
  );
  let stdout = '';
  child.child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const code = await child.exited;
  if (code !== 0) throw new Error(`raw sqlite loop exited with ${String(code)}:\n${child.output()}`);
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Sample;
}

// ---------------------------------------------------------------------------------------------
// Sections

async function sqlitePurchases(): Promise<void> {
  const seeded = await sqliteServer('sqlite');
  const rawFile = path.join(scratch, 'raw-loop', 'raw.sqlite');
  fs.mkdirSync(path.dirname(rawFile), { recursive: true });
  const load = (connections: number) => ({
    url: seeded.server.url,
    connections,
    seconds: SECONDS,
    method: 'POST' as const,
    path: '/v1/purchases',
    next: purchaseRequests(seeded.tokens),
  });
  const c32: Sample[] = [];
  const c64: Sample[] = [];
  const raw: Sample[] = [];
  log('purchases on SQLite: warm-up');
  await warmUp(load(32), seeded);
  await rawSqliteLoop(rawFile, WARMUP);
  for (let run = 1; run <= RUNS; run++) {
    c32.push(await measure(seeded, load(32)));
    log(`purchases sqlite c32 run ${run}: ${describe(c32[c32.length - 1] as Sample)}`);
    raw.push(await rawSqliteLoop(rawFile, SECONDS));
    log(`raw better-sqlite3 FULL loop run ${run}: ${describe(raw[raw.length - 1] as Sample)}`);
    c64.push(await measure(seeded, load(64)));
    log(`purchases sqlite c64 run ${run}: ${describe(c64[c64.length - 1] as Sample)}`);
  }
  const baselineLabel = 'raw better-sqlite3 loop, 1 op/commit, FULL+WAL';
  const target = { kind: 'ratio' as const, min: 1.5, text: '≥ 1.5×' };
  figures.push({
    id: 'purchases.sqlite.c32',
    label: 'purchases, SQLite, 32 conn',
    unit: '/s',
    topup: c32,
    baselineLabel,
    baseline: raw,
    target,
  });
  figures.push({
    id: 'purchases.sqlite.c64',
    label: 'purchases, SQLite, 64 conn',
    unit: '/s',
    topup: c64,
    baselineLabel,
    baseline: raw,
    target,
  });
  await releaseSqlite(seeded);
}

async function balanceReads(): Promise<void> {
  const seeded = await sqliteServer('balance');
  const port = await freePort();
  const hello = startChild(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/hello-server.ts')], {
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn' },
  });
  const helloUrl = `http://127.0.0.1:${port}`;
  await waitReady(`${helloUrl}/readyz`, hello, 'hello-world server');
  const balance = {
    url: seeded.server.url,
    connections: 50,
    seconds: SECONDS,
    method: 'GET' as const,
    path: '/v1/balance',
    next: readRequests(seeded.tokens),
  };
  const helloLoad = {
    url: helloUrl,
    connections: 50,
    seconds: SECONDS,
    method: 'GET' as const,
    path: '/hello',
    next: readRequests(seeded.tokens),
  };
  log('balance reads: warm-up');
  await warmUp(balance, seeded);
  await warmUp(helloLoad);
  const topup: Sample[] = [];
  const baseline: Sample[] = [];
  for (let run = 1; run <= RUNS; run++) {
    topup.push(await measure(seeded, balance));
    log(`GET /v1/balance c50 run ${run}: ${describe(topup[topup.length - 1] as Sample)}`);
    baseline.push(await runHttp(helloLoad));
    log(`Fastify hello-world c50 run ${run}: ${describe(baseline[baseline.length - 1] as Sample)}`);
  }
  await hello.stop();
  figures.push({
    id: 'balance.c50',
    label: 'GET /v1/balance, 50 conn',
    unit: '/s',
    topup,
    baselineLabel: 'Fastify hello-world, same setup',
    baseline,
    target: { kind: 'ratio', min: 0.5, maxP99Ms: 10, text: '≥ 0.5×, p99 < 10 ms' },
  });
  await releaseSqlite(seeded);
}

/** Orders created in [from, to) by status, read from the server's SQLite file (WAL: readers never block it). */
function rechargesCreatedBetween(dataDir: string, from: Date, to: Date): Record<string, number> {
  const db = new SqliteDatabase(path.join(dataDir, 'topup.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare('select status, count(*) as n from recharges where created_at >= ? and created_at < ? group by status')
      .all(from.toISOString(), to.toISOString()) as { status: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  } finally {
    db.close();
  }
}

async function sandboxRecharges(): Promise<void> {
  const seeded = await sqliteServer('recharges');
  const load = {
    url: seeded.server.url,
    connections: 32,
    seconds: SECONDS,
    method: 'POST' as const,
    path: '/v1/recharges',
    next: rechargeRequests(seeded.tokens),
  };
  log('sandbox recharges: warm-up');
  await warmUp(load, seeded);
  const requests: Sample[] = [];
  const succeeded: Sample[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const from = new Date();
    const sample = await measure(seeded, load);
    const to = new Date();
    // Requests still in flight when the load stopped finish in the next moment; then count the
    // orders created during the run by status. `succeeded` is what the sandbox answered at once.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const statuses = rechargesCreatedBetween(seeded.server.dataDir, from, to);
    const seconds = (to.getTime() - from.getTime()) / 1000;
    const ok = statuses.succeeded ?? 0;
    requests.push(sample);
    succeeded.push({ ...sample, rate: ok / seconds, count: ok, extra: { ...sample.extra, ...prefixed('orders_', statuses) } });
    log(
      `recharges c32 run ${run}: ${describe(sample)}; orders created ${JSON.stringify(statuses)}: ${Math.round(ok / seconds)} succeeded/s`,
    );
  }
  figures.push({
    id: 'recharges.sqlite.c32.requests',
    label: 'sandbox recharges, SQLite, 32 conn: requests',
    unit: '/s',
    topup: requests,
    baselineLabel: null,
    baseline: null,
    target: { kind: 'none' },
  });
  figures.push({
    id: 'recharges.sqlite.c32.succeeded',
    label: 'sandbox recharges, SQLite, 32 conn: succeeded',
    unit: '/s',
    topup: succeeded,
    baselineLabel: null,
    baseline: null,
    target: { kind: 'rate', min: 1000, text: '≥ 1,000/s' },
  });
  await releaseSqlite(seeded);
}

async function postgresPurchases(): Promise<void> {
  const base = baseDatabaseUrl();
  const unavailable = await postgresUnavailable(base);
  if (unavailable) {
    notes.push(`PostgreSQL section skipped: ${unavailable}`);
    log(`PostgreSQL not reachable at ${base}: skipping (${unavailable})`);
    return;
  }
  const synchronousCommit = await serverSetting(base, 'synchronous_commit');
  const fsync = await serverSetting(base, 'fsync');
  notes.push(`PostgreSQL: synchronous_commit=${synchronousCommit}, fsync=${fsync}`);
  const topupDb = await createScratchDatabase(base, 'topup_bench');
  const pgbenchDb = await createScratchDatabase(base, 'topup_bench_pgbench');
  try {
    log(`pgbench -i -s 10 on ${pgbenchDb.name}`);
    await pgbenchInit(pgbenchDb.url, 10);
    const seeded = await seededTopup(SERVER_NAMES.postgres, topupDb.url);
    const load = (connections: number) => ({
      url: seeded.server.url,
      connections,
      seconds: SECONDS,
      method: 'POST' as const,
      path: '/v1/purchases',
      next: purchaseRequests(seeded.tokens),
    });
    const logDir = path.join(scratch, 'pgbench-log');
    log('purchases on PostgreSQL: warm-up');
    await warmUp(load(32), seeded);
    const topup32: Sample[] = [];
    const topup64: Sample[] = [];
    const bench32: Sample[] = [];
    const bench64: Sample[] = [];
    // Commits per WAL flush during the 32-connection runs of each side (nothing else writes).
    const flushes = { topup: { commits: 0, flushes: 0 }, pgbench: { commits: 0, flushes: 0 } };
    const counted = async (side: 'topup' | 'pgbench', run: () => Promise<Sample>): Promise<Sample> => {
      const before = await walFlushes(base);
      const sample = await run();
      const after = await walFlushes(base);
      if (before !== null && after !== null) {
        flushes[side].commits += sample.count;
        flushes[side].flushes += after - before;
      }
      return sample;
    };
    for (let run = 1; run <= RUNS; run++) {
      topup32.push(await counted('topup', () => measure(seeded, load(32))));
      log(`purchases postgres c32 run ${run}: ${describe(topup32[topup32.length - 1] as Sample)}`);
      bench32.push(await counted('pgbench', () => pgbenchRun(pgbenchDb.url, 32, SECONDS, logDir)));
      log(`pgbench tpcb-like c32 run ${run}: ${describe(bench32[bench32.length - 1] as Sample)}`);
      topup64.push(await measure(seeded, load(64)));
      log(`purchases postgres c64 run ${run}: ${describe(topup64[topup64.length - 1] as Sample)}`);
      bench64.push(await pgbenchRun(pgbenchDb.url, 64, SECONDS, logDir));
      log(`pgbench tpcb-like c64 run ${run}: ${describe(bench64[bench64.length - 1] as Sample)}`);
    }
    const perFlush = (f: { commits: number; flushes: number }) => (f.flushes > 0 ? (f.commits / f.flushes).toFixed(1) : '—');
    notes.push(
      `PostgreSQL group commit (32 connections, pg_stat_wal.wal_sync): Topup ${perFlush(flushes.topup)} purchases per WAL flush, pgbench ${perFlush(flushes.pgbench)} transactions per flush`,
    );
    await seeded.server.stop();
    await verifyStore('postgres', seeded.server.dataDir, topupDb.url);
    figures.push({
      id: 'purchases.postgres.c32',
      label: 'purchases, PostgreSQL, 32 conn',
      unit: '/s',
      topup: topup32,
      baselineLabel: 'pgbench tpcb-like -c 32 -j 2 -M prepared',
      baseline: bench32,
      target: { kind: 'ratio', min: 2, text: '≥ 2×' },
    });
    figures.push({
      id: 'purchases.postgres.c64',
      label: 'purchases, PostgreSQL, 64 conn',
      unit: '/s',
      topup: topup64,
      baselineLabel: 'pgbench tpcb-like -c 64 -j 2 -M prepared',
      baseline: bench64,
      target: { kind: 'none' },
    });
  } finally {
    await topupDb.drop();
    await pgbenchDb.drop();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function gitDescribe(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} + uncommitted src changes` : head;
  } catch {
    return 'unknown';
  }
}

function writeProfiles(): string[] {
  if (!PROFILE || !fs.existsSync(profileDir)) return [];
  const written: string[] = [];
  for (const section of fs.readdirSync(profileDir)) {
    if (!fs.statSync(path.join(profileDir, section)).isDirectory()) continue;
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (tsx's
    // module loader runs in a worker thread and writes its own profile).
    const files = fs.readdirSync(path.join(profileDir, section)).filter((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    for (const file of files) {
      const measured = windows.get(section) ?? null;
      const text = formatProfileSummary(
        summariseProfile(path.join(profileDir, section, file), 25, measured),
        `topup serve (${section}), ${measured ? `${measured.length} measured run(s) only` : 'whole life'}`,
      );
      const out = path.join(RESULTS, `profile-${section}.txt`);
      const traceFile = path.join(profileDir, `${section}.sql.json`);
      const trace = fs.existsSync(traceFile) ? `\n${formatSqlTrace(JSON.parse(fs.readFileSync(traceFile, 'utf8')) as SqlTrace, 60)}` : '';
      fs.writeFileSync(out, text + trace);
      // The raw profile too (git ignores it): open it in Chrome DevTools or speedscope.
      fs.copyFileSync(path.join(profileDir, section, file), path.join(RESULTS, `profile-${section}.cpuprofile`));
      written.push(path.relative(ROOT, out));
    }
  }
  return written;
}

function report(summaries: Summary[], loadBefore: number[]): void {
  const machine = {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? '?',
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    load_average_before: loadBefore.map((l) => Number(l.toFixed(2))),
    load_average_after: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
  const mode = `${QUICK ? 'quick' : 'full'}: median of ${RUNS} run(s) × ${SECONDS} s, ${CUSTOMERS} customers${PROFILE ? ', servers under --cpu-prof (numbers perturbed)' : ''}`;
  const result = {
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    code: gitDescribe(),
    mode,
    machine,
    notes,
    figures: summaries,
    samples: figures.map((f) => ({ id: f.id, topup: f.topup, baseline: f.baseline })),
  };
  fs.mkdirSync(RESULTS, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const json = `${JSON.stringify(result, null, 2)}\n`;
  fs.writeFileSync(path.join(RESULTS, `${stamp}.json`), json);
  const header = [
    `Topup benchmarks — ${result.finished_at} — code ${result.code}`,
    `${mode}; ${machine.cpus} × ${machine.cpu_model}, Node ${machine.node}; load average ${machine.load_average_before.join(' ')} before, ${machine.load_average_after.join(' ')} after`,
    ...notes,
  ];
  const profiles = writeProfiles();
  const complete = !PROFILE && !QUICK && ALL_SECTIONS.every((section) => SECTIONS.has(section));
  if (complete) {
    // The committed copy, the table docs/performance.md quotes: full runs of every section only.
    fs.writeFileSync(path.join(RESULTS, 'latest.json'), json);
    const runs = summaries.map(
      (s) => `- ${s.label}: ${s.topup.runs.join(', ')}${s.baseline ? ` — baseline ${s.baseline.runs.join(', ')}` : ''}`,
    );
    fs.writeFileSync(
      path.join(RESULTS, 'latest.md'),
      `${header.map((h) => `${h}  `).join('\n')}\n\n${markdownTable(summaries)}\nEach run's rate, in run order:\n\n${runs.join('\n')}\n`,
    );
  }
  process.stdout.write(`\n${header.join('\n')}\n\n${textTable(summaries)}\n`);
  process.stdout.write(`results: bench/results/${stamp}.json${complete ? ' (and latest.json, latest.md)' : ''}\n`);
  for (const file of profiles) process.stdout.write(`profile summary: ${file}\n`);
  process.stdout.write(unmetProfiles(summaries));
}

/** Which profile summary explains each figure (written by a BENCH_PROFILE=1 run). */
const PROFILE_OF: Record<string, string> = {
  'purchases.sqlite': 'profile-sqlite-purchases.txt',
  'balance.c50': 'profile-sqlite-balance.txt',
  'recharges.sqlite': 'profile-sqlite-recharges.txt',
  'purchases.postgres': 'profile-postgres.txt',
};

/**
 * A target not met is printed with its profile: the lines of the last profiled run that say
 * where the time goes (the database's share and the statements per request), and where the
 * reasoning is written up.
 */
function unmetProfiles(summaries: Summary[]): string {
  const out: string[] = [];
  const shown = new Set<string>();
  for (const s of summaries.filter((x) => x.met === false)) {
    const key = Object.keys(PROFILE_OF).find((prefix) => s.id.startsWith(prefix));
    const file = key ? path.join(RESULTS, PROFILE_OF[key] as string) : null;
    if (!key || !file || shown.has(key)) continue;
    shown.add(key);
    out.push(`\nnot met: ${s.label} (${s.ratio === null ? '' : `${s.ratio.toFixed(2)}× `}against ${s.target}) — its profile:`);
    if (!fs.existsSync(file)) {
      out.push('  (no profile yet: run BENCH_PROFILE=1 BENCH_QUICK=1 npm run bench)');
      continue;
    }
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const at = lines.findIndex((l) => l.startsWith('## SQLite calls') || /queries per response/.test(l));
    const head = lines[0] ?? '';
    const packages = lines.slice(lines.indexOf('## self time by package / folder') + 1).slice(0, 4);
    out.push(`  ${head}`, ...packages.map((l) => `  ${l}`));
    if (at >= 0) out.push(...lines.slice(at, at + 10).map((l) => `  ${l.slice(0, 150)}`));
    out.push(`  full summary: bench/results/${PROFILE_OF[key]}; why: docs/performance.md, "What the profiles say"`);
  }
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  log(`${QUICK ? 'quick' : 'full'} mode: ${RUNS} run(s) × ${SECONDS} s per figure; sections ${[...SECTIONS].join(', ')}`);
  if (loadBefore[0] !== undefined && loadBefore[0] > os.cpus().length) {
    const note = `machine busy at start (load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs): expect noisy numbers`;
    notes.push(note);
    log(note);
  }
  if (SECTIONS.has('sqlite')) await sqlitePurchases();
  if (SECTIONS.has('balance')) await balanceReads();
  if (SECTIONS.has('recharges')) await sandboxRecharges();
  if (sharedSqlite) {
    await sharedSqlite.server.stop();
    await verifyStore('sqlite', sharedSqlite.server.dataDir, null);
    sharedSqlite = null;
  }
  if (SECTIONS.has('postgres')) await postgresPurchases();
  report(figures.map(summarise), loadBefore);
}

let finishing = false;
async function finish(code: number): Promise<never> {
  if (!finishing) {
    finishing = true;
    await cleanupAll();
  }
  process.exit(code);
}

const watchdog = setTimeout(() => {
  log(`time limit of ${TIME_LIMIT_MS / 60_000} min reached: stopping everything`);
  void finish(3);
}, TIME_LIMIT_MS);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: cleaning up`);
    void finish(130);
  });
}

void main().then(
  () => finish(0),
  (error: unknown) => {
    console.error(error);
    return finish(1);
  },
);
