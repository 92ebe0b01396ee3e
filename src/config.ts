import path from 'node:path';

/** Every environment variable the service reads, parsed and typed in one place. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | null;
  /** PostgreSQL connections per process; a purchase holds one for its whole transaction. */
  databasePoolSize: number;
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
  /** Hours a refund application may wait for a decision before it breaches its SLA. */
  refundSlaHours: number;
  /** Largest refund (fen) a cs_agent may approve; above it a supervisor must. */
  agentApprovalCap: number;
  /** Compensation caps (fen) per role; admins have none. */
  agentCompensationCap: number;
  supervisorCompensationCap: number;
  /** Compensation (fen) offered automatically when a refund breaches its SLA; 0 turns it off. */
  slaBreachCompensation: number;
  /** Sandbox random-fault mode for chaos tests: `busy=0.1,timeout=0.05,…,seed=42`; unset = off. */
  sandboxFaults: string | null;
  /** The From of notification mail. */
  mailFrom: string;
  /** `recording` keeps SMS in the outbox (default); `aliyun` sends through Alibaba Cloud SMS. */
  smsProvider: 'recording' | 'aliyun';
  /** Alibaba Cloud SMS settings; set (and complete) exactly when `smsProvider` is `aliyun`. */
  aliyunSms: AliyunSmsConfig | null;
}

export interface AliyunSmsConfig {
  accessKeyId: string;
  accessKeySecret: string;
  signName: string;
  /** Host (`dysmsapi.aliyuncs.com`, HTTPS) or a full `http(s)://host:port` URL. */
  endpoint: string;
  /** Approved template code per event type (`recharge.failed` → `SMS_123456`). */
  templates: Record<string, string>;
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

/** `recharge.failed=SMS_1,refund.succeeded=SMS_2` → a map; malformed pairs are a startup error. */
function pairs(env: NodeJS.ProcessEnv, name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text(env, name) ?? '').split(',')) {
    if (part.trim() === '') continue;
    const [key, value, ...rest] = part.split('=').map((s) => s.trim());
    if (!key || !value || rest.length > 0) throw new Error(`${name} must look like "event=TEMPLATE,event=TEMPLATE", got "${part}"`);
    out[key] = value;
  }
  return out;
}

function aliyunSms(env: NodeJS.ProcessEnv): AliyunSmsConfig {
  const required = (name: string): string => {
    const value = text(env, name);
    if (!value) throw new Error(`${name} is required when TOPUP_SMS_PROVIDER=aliyun`);
    return value;
  };
  return {
    accessKeyId: required('TOPUP_ALIYUN_SMS_ACCESS_KEY_ID'),
    accessKeySecret: required('TOPUP_ALIYUN_SMS_ACCESS_KEY_SECRET'),
    signName: required('TOPUP_ALIYUN_SMS_SIGN_NAME'),
    endpoint: text(env, 'TOPUP_ALIYUN_SMS_ENDPOINT') ?? 'dysmsapi.aliyuncs.com',
    templates: pairs(env, 'TOPUP_ALIYUN_SMS_TEMPLATES'),
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = text(env, 'DATABASE_URL');
  const smsProvider = text(env, 'TOPUP_SMS_PROVIDER') ?? 'recording';
  if (smsProvider !== 'recording' && smsProvider !== 'aliyun') {
    throw new Error(`TOPUP_SMS_PROVIDER must be recording or aliyun, got "${smsProvider}"`);
  }
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error('DATABASE_URL must be a postgres:// URL');
  }
  return {
    port: integer(env, 'PORT', 3000),
    host: text(env, 'HOST') ?? '127.0.0.1',
    dataDir: path.resolve(text(env, 'DATA_DIR') ?? './data'),
    databaseUrl,
    databasePoolSize: Math.max(1, integer(env, 'DATABASE_POOL_SIZE', 10)),
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
    refundSlaHours: integer(env, 'TOPUP_REFUND_SLA_HOURS', 24),
    agentApprovalCap: integer(env, 'TOPUP_AGENT_APPROVAL_CAP', 50_000),
    agentCompensationCap: integer(env, 'TOPUP_AGENT_COMPENSATION_CAP', 5_000),
    supervisorCompensationCap: integer(env, 'TOPUP_SUPERVISOR_COMPENSATION_CAP', 100_000),
    slaBreachCompensation: integer(env, 'TOPUP_SLA_BREACH_COMPENSATION', 0),
    sandboxFaults: text(env, 'TOPUP_SANDBOX_FAULTS'),
    mailFrom: text(env, 'TOPUP_MAIL_FROM') ?? 'Topup <no-reply@topup.local>',
    smsProvider,
    aliyunSms: smsProvider === 'aliyun' ? aliyunSms(env) : null,
  };
}
