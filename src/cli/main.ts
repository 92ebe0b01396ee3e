import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import type { Context } from '../context.js';
import { OffsetClock } from '../domain/clock.js';
import { AppError } from '../domain/errors.js';
import { createStaff } from '../identity/create-staff.js';
import { STAFF_ROLES, type StaffRole } from '../identity/roles.js';
import { verifyLedger } from '../ledger/verify.js';
import { startService } from '../main.js';
import { INVARIANT_CHECKS } from '../ops/invariants.js';
import { createLogger } from '../ops/logger.js';
import { createMetrics } from '../ops/metrics.js';
import { MemoryRateLimiter } from '../ops/rate-limiter.js';
import { openStore } from '../store/database.js';
import { migrateToLatest } from '../store/migrations.js';

const USAGE = `topup — recharge and refund service

  topup serve                 API, worker and web console in one process (default)
  topup api                   HTTP API only
  topup worker                job worker only
  topup migrate               run database migrations
  topup verify                recompute balances, check every ledger invariant (exit 1 on violation)
  topup staff create --email E --password P --role cs_agent|cs_supervisor|finance|admin

Environment: see README (PORT, HOST, DATA_DIR, DATABASE_URL, REDIS_URL, TOPUP_*)`;

async function withStore<T>(work: (ctx: Context) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrateToLatest(store.db as never, store.dialect);
    const clock = new OffsetClock();
    const ctx: Context = {
      config,
      store,
      clock,
      log: createLogger('warn'),
      metrics: createMetrics(),
      limiter: new MemoryRateLimiter(clock),
      publicUrl: { current: config.publicUrl },
    };
    return await work(ctx);
  } finally {
    await store.close();
  }
}

async function serve(options: { api: boolean; worker: boolean }): Promise<void> {
  const config = loadConfig();
  const service = await startService(config, options);
  const what = [options.api && `api on ${service.url}`, options.worker && 'worker'].filter(Boolean).join(' + ');
  service.ctx.log.info(`topup ${what} (${service.ctx.store.dialect})`);
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    service.ctx.log.info({ signal }, 'shutting down');
    service.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  switch (command) {
    case 'serve':
      await serve({ api: true, worker: true });
      return -1;
    case 'api':
      await serve({ api: true, worker: false });
      return -1;
    case 'worker':
      await serve({ api: false, worker: true });
      return -1;
    case 'migrate': {
      const config = loadConfig();
      const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
      try {
        const applied = await migrateToLatest(store.db as never, store.dialect);
        console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await store.close();
      }
      return 0;
    }
    case 'verify':
      return withStore(async (ctx) => {
        const report = await verifyLedger(ctx.store.db, INVARIANT_CHECKS);
        console.log(
          `ledger (${ctx.store.dialect}): ${report.accounts} accounts, ${report.transactions} transactions, ${report.postings} postings`,
        );
        console.log(`customers: available ${report.customerAvailable} fen, held ${report.customerHeld} fen`);
        for (const [account, balance] of Object.entries(report.platform)) console.log(`  ${account}: ${balance} fen`);
        for (const check of report.checks) console.log(`${check.violations === 0 ? 'ok  ' : 'FAIL'} ${check.name}`);
        for (const v of report.violations) console.log(`  violation [${v.invariant}] ${v.subject}: ${v.detail}`);
        console.log(report.violations.length === 0 ? 'verify: clean' : `verify: ${report.violations.length} violation(s)`);
        return report.violations.length === 0 ? 0 : 1;
      });
    case 'staff': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { email: { type: 'string' }, password: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' } },
      });
      if (positionals[0] !== 'create' || !values.email || !values.password || !values.role) {
        console.error(USAGE);
        return 2;
      }
      if (!(STAFF_ROLES as readonly string[]).includes(values.role)) {
        console.error(`role must be one of ${STAFF_ROLES.join(', ')}`);
        return 2;
      }
      return withStore(async (ctx) => {
        try {
          const user = await createStaff(
            ctx,
            { email: values.email ?? '', password: values.password ?? '', role: values.role as StaffRole, name: values.name ?? null },
            'cli',
          );
          console.log(`created ${user.roles[0]} ${user.email} (${user.id})`);
          return 0;
        } catch (error) {
          if (error instanceof AppError) {
            console.error(`staff create: ${error.detail ?? error.code}`);
            return 1;
          }
          throw error;
        }
      });
    }
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      console.error(`unknown command ${command}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
