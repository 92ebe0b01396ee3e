import path from 'node:path';

/** Every environment variable the service reads, parsed and typed in one place. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | null;
  redisUrl: string | null;
  smtpUrl: string | null;
  adminEmail: string | null;
  adminPassword: string | null;
  sandbox: boolean;
  rechargeRatePerMin: number;
  authRatePerMin: number;
  limitPerTx: number;
  limitDaily: number;
  logLevel: string;
  /** Milliseconds between worker polls for due jobs. */
  workerPollMs: number;
  /**
   * Where channels send notifications (`http://host:port`). Defaults to this process's own
   * listen address; a `topup worker` process needs it set to reach an API process.
   */
  publicUrl: string | null;
  /** Sandbox random-fault mode for chaos tests: `busy=0.1,timeout=0.05,…,seed=42`; unset = off. */
  sandboxFaults: string | null;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

function text(env: NodeJS.ProcessEnv, name: string): string | null {
  const raw = env[name];
  return raw === undefined || raw === '' ? null : raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = text(env, 'DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error('DATABASE_URL must be a postgres:// URL');
  }
  return {
    port: integer(env, 'PORT', 3000),
    host: text(env, 'HOST') ?? '127.0.0.1',
    dataDir: path.resolve(text(env, 'DATA_DIR') ?? './data'),
    databaseUrl,
    redisUrl: text(env, 'REDIS_URL'),
    smtpUrl: text(env, 'SMTP_URL'),
    adminEmail: text(env, 'TOPUP_ADMIN_EMAIL'),
    adminPassword: text(env, 'TOPUP_ADMIN_PASSWORD'),
    sandbox: (text(env, 'TOPUP_SANDBOX') ?? '1') !== '0',
    rechargeRatePerMin: integer(env, 'TOPUP_RECHARGE_RATE_PER_MIN', 10),
    authRatePerMin: integer(env, 'TOPUP_AUTH_RATE_PER_MIN', 20),
    limitPerTx: integer(env, 'TOPUP_LIMIT_PER_TX', 5_000_000),
    limitDaily: integer(env, 'TOPUP_LIMIT_DAILY', 20_000_000),
    logLevel: text(env, 'LOG_LEVEL') ?? 'info',
    workerPollMs: integer(env, 'TOPUP_WORKER_POLL_MS', 200),
    publicUrl: text(env, 'TOPUP_PUBLIC_URL'),
    sandboxFaults: text(env, 'TOPUP_SANDBOX_FAULTS'),
  };
}
