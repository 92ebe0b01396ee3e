import { openStore } from '../../src/store/database.js';
import { createTestDatabase } from '../support/test-database.js';
import { SeededRandom } from '../../src/channels/sandbox/faults.js';
import { sql } from 'kysely';
import { type CheckResult, checkRun, runVerify } from './checks.js';
import { sleep } from './chaos-http.js';
import { Cluster, type ClusterShape } from './cluster.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Workload, monkey } from './workload.js';

/** Random channel faults of the run (the seed is appended per process). */
export const CHAOS_FAULTS = 'busy=0.1,timeout=0.05,duplicate=0.05,lost_notify=0.1,late=0.02,refund_fail=0.05';

export interface ChaosOptions {
  seed: number;
  customers: number;
  /** Length of the concurrent phase. */
  durationMs: number;
  maxOps: number;
  /** Mean time between two SIGKILLs. */
  killEveryMs: number;
  shape: ClusterShape;
  redisUrl: string | null;
  log: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  dialect: 'sqlite' | 'postgres';
  shape: ClusterShape;
  seconds: number;
  operations: Record<string, number>;
  totalOperations: number;
  outcomes: Record<string, number>;
  kills: number;
  restarts: number;
  networkErrors: number;
  clockAdvances: number;
  replays: { sent: number; refused: number };
  verify: { code: number | null; output: string };
  checks: CheckResult;
  /** Contract breaches the driver saw (5xx, unexpected statuses) and alarming log lines of the processes. */
  problems: string[];
  alarms: string[];
}

/** The short CI form or the long one (CHAOS_LONG=1), per dialect; overridable by CHAOS_* variables. */
export function chaosOptions(env: NodeJS.ProcessEnv, log: (line: string) => void): ChaosOptions {
  const long = env.CHAOS_LONG === '1';
  const postgres = Boolean(env.DATABASE_URL);
  const int = (name: string, fallback: number) => {
    const raw = env[name];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
    return value;
  };
  return {
    seed: int('CHAOS_SEED', long ? Date.now() % 1_000_000 : 42),
    customers: int('CHAOS_CUSTOMERS', long ? 10 : 4),
    durationMs: int('CHAOS_SECONDS', long ? 600 : 45) * 1000,
    maxOps: int('CHAOS_MAX_OPS', long ? 1_000_000 : 3_000),
    killEveryMs: int('CHAOS_KILL_EVERY_MS', long ? 15_000 : postgres ? 9_000 : 12_000),
    shape: postgres ? { serve: 0, api: 3, worker: 2 } : { serve: 1, api: 0, worker: 0 },
    redisUrl: postgres ? (env.CHAOS_REDIS_URL ?? env.TOPUP_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379') : null,
    log,
  };
}

/** Waits until no job is due or running (other than recurring schedules), or the deadline passes. */
async function quiesce(db: ReturnType<typeof openStore>['db'], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const clock = await db.selectFrom('service_clock').select('offset_ms').where('id', '=', 1).executeTakeFirst();
    const now = new Date(Date.now() + Number(clock?.offset_ms ?? 0)).toISOString();
    const busy = await db
      .selectFrom('jobs')
      .select(sql<number>`count(*)`.as('n'))
      .where('repeat_seconds', 'is', null)
      .where((eb) => eb.or([eb.and([eb('status', '=', 'pending'), eb('run_at', '<=', now)]), eb('status', '=', 'running')]))
      .executeTakeFirst();
    if (Number(busy?.n ?? 0) === 0 || Date.now() > deadline) return;
    await sleep(200);
  }
}

/**
 * One chaos run on a fresh database of the dialect DATABASE_URL selects: the workload against
 * real `topup` processes that are SIGKILLed and restarted at random, then a drain past every
 * schedule, then the checks. Never throws for a violation: the report carries them.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const testDb = await createTestDatabase();
  const dialect = testDb.databaseUrl ? 'postgres' : 'sqlite';
  const env: Record<string, string> = {
    DATA_DIR: testDb.dataDir,
    DATABASE_URL: testDb.databaseUrl ?? '',
    REDIS_URL: options.redisUrl ?? '',
    TOPUP_PUBLIC_URL: '',
    TOPUP_SANDBOX: '1',
    TOPUP_ADMIN_EMAIL: ADMIN_EMAIL,
    TOPUP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    TOPUP_AUTH_RATE_PER_MIN: '100000',
    TOPUP_RECHARGE_RATE_PER_MIN: '100000',
    TOPUP_WORKER_POLL_MS: '100',
    SMTP_URL: '',
  };
  // Each process, and each restart of it, draws its own fault stream from the run's seed.
  const cluster = await Cluster.create(options.shape, env, (member, incarnation) => ({
    TOPUP_SANDBOX_FAULTS: `${CHAOS_FAULTS},seed=${options.seed * 1000 + member * 100 + incarnation}`,
  }));
  const store = openStore({ databaseUrl: testDb.databaseUrl, dataDir: testDb.dataDir, poolSize: 2 });
  const workload = new Workload(cluster, store.db, options.seed);
  const log = options.log;
  try {
    log(`chaos: seed ${options.seed}, ${dialect}, processes ${cluster.members.map((m) => m.name).join(' ')}`);
    await cluster.startAll();
    await workload.setUp(options.customers);
    log(`chaos: deployment up in ${Math.round((Date.now() - started) / 1000)} s`);

    const until = Date.now() + options.durationMs;
    let phaseOver = false;
    const chaos = monkey(cluster, workload.tally, options.seed, options.killEveryMs, () => phaseOver, log);
    await workload.run(until, options.maxOps);
    phaseOver = true;
    await chaos;
    log(`chaos: concurrent phase over after ${workload.tally.totalOperations} operations, ${workload.tally.kills} kills`);

    // Drain: every process up, stray requests settled, every application decided, the clock past every schedule.
    await cluster.startAll();
    await workload.settleUnsettled();
    const random = new SeededRandom(options.seed, 'drain');
    let stale = 0;
    let lastOpen = '';
    for (let round = 0; round < 1000 && stale < 5; round++) {
      const queue = await workload.http.call('GET', '/v1/admin/refunds?limit=100', { token: workload.staff.agent });
      if (queue?.status !== 200) throw new Error(`review queue: ${queue ? `${queue.status} ${queue.text}` : 'no answer'}`);
      const open = Array.isArray(queue.body.data) ? (queue.body.data as Record<string, unknown>[]) : [];
      if (open.length === 0) break;
      const signature = open.map((r) => `${String(r.id)}:${String(r.status)}`).join(',');
      stale = signature === lastOpen ? stale + 1 : 0;
      lastOpen = signature;
      for (const refund of open) await workload.decide(refund, random, true);
    }
    log(`chaos: every open application decided (${stale >= 5 ? 'stuck' : 'done'})`);
    // The first step outlasts the job lease (5 min): jobs a killed process held become claimable.
    const steps = [360, 60, 300, 600, 1800, 3600, 3600, 6 * 3600, 6 * 3600, 6 * 3600, 6 * 3600, 86_400, 86_400, 86_400];
    const drainStarted = Date.now();
    for (const seconds of steps) {
      const t = Date.now();
      await workload.advance(seconds);
      const advanced = Date.now() - t;
      await quiesce(store.db, 30_000);
      log(`chaos: clock +${seconds} s (${advanced} ms, quiet after ${Date.now() - t} ms)`);
    }
    await quiesce(store.db, 60_000);
    log(`chaos: drained in ${Math.round((Date.now() - drainStarted) / 1000)} s`);

    const checks = await checkRun(store.db);
    await cluster.stopAll();
    const verify = await runVerify(env);
    const tally = workload.tally;
    return {
      seed: options.seed,
      dialect,
      shape: options.shape,
      seconds: Math.round((Date.now() - started) / 1000),
      operations: tally.operations,
      totalOperations: tally.totalOperations,
      outcomes: tally.outcomes,
      kills: tally.kills,
      restarts: cluster.members.reduce((a, m) => a + m.starts - 1, 0),
      networkErrors: workload.http.networkErrors,
      clockAdvances: tally.clockAdvances,
      replays: { sent: tally.replaysSent, refused: tally.replaysRefused },
      verify,
      checks,
      problems: tally.problems,
      alarms: cluster.alarms(),
    };
  } finally {
    await cluster.stopAll();
    await store.close();
    if (process.env.CHAOS_KEEP !== '1') await testDb.drop();
    else log(`chaos: kept ${testDb.databaseUrl ?? testDb.dataDir}`);
  }
}

/** The figures, for a person reading a CI log or replaying a failure with CHAOS_SEED. */
export function formatReport(r: ChaosReport): string {
  const f = r.checks.figures;
  const lines = [
    `chaos run: seed ${r.seed} (replay: CHAOS_SEED=${r.seed}${r.dialect === 'postgres' ? ' DATABASE_URL=…' : ''} npm run chaos)`,
    `  dialect ${r.dialect}, processes serve×${r.shape.serve} api×${r.shape.api} worker×${r.shape.worker}, ${r.seconds} s`,
    `  operations ${r.totalOperations}: ${JSON.stringify(r.operations)}`,
    `  kills ${r.kills} (restarts ${r.restarts}), network errors ${r.networkErrors}, clock advances ${r.clockAdvances}, notification replays ${r.replays.sent} (${r.replays.refused} refused)`,
    `  faults injected: ${JSON.stringify(f.faults)}`,
    `  orders ${JSON.stringify(f.orders)}; refunds ${JSON.stringify(f.refunds)}; notifications ${f.notifications}`,
    `  fen checked: ${f.fenCollected} collected in ${f.collections} channel transactions, ${f.fenCredited} credited, ${f.fenRefundedToPayers} refunded to payers`,
    `  topup verify: exit ${r.verify.code}`,
    `  violations: ${r.checks.violations.length}, contract problems: ${r.problems.length}, process alarms: ${r.alarms.length}`,
    `  outcomes: ${JSON.stringify(r.outcomes)}`,
    ...Object.entries(
      r.checks.violations.reduce<Record<string, number>>((acc, v) => {
        const kind = v.replace(/[a-z]+_[0-9a-z]{20,}|[A-Z]{3}R?\d{14}[0-9A-F]{16}|\d+/g, '…');
        acc[kind] = (acc[kind] ?? 0) + 1;
        return acc;
      }, {}),
    ).map(([kind, n]) => `    ${n} × ${kind.slice(0, 300)}`),
    ...r.checks.violations.slice(0, 30).map((v) => `    violation: ${v}`),
    ...r.problems.slice(0, 20).map((p) => `    problem: ${p}`),
    ...r.alarms.slice(0, 20).map((a) => `    alarm: ${a.slice(0, 1500)}`),
  ];
  if (r.verify.code !== 0) lines.push(r.verify.output);
  return lines.join('\n');
}
