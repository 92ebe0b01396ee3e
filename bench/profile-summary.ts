/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): where the samples went by self time
 * (function and package), and the inclusive time of Topup's own functions.
 *
 *   node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top 25]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SqlTrace } from './sql-trace.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const ROOT = path.resolve(import.meta.dirname, '..');

function location(url: string): string {
  if (url === '') return '';
  let file = url;
  if (url.startsWith('file://')) file = fileURLToPath(url);
  const modules = file.lastIndexOf('node_modules/');
  if (modules >= 0) return file.slice(modules + 'node_modules/'.length);
  if (file.startsWith(ROOT)) return path.relative(ROOT, file);
  return file;
}

/** `fastify`, `@fastify/x`, `better-sqlite3`, `src/balance`, `node:internal`, `(garbage collector)`… */
/**
 * bench/sql-trace.ts wraps the database drivers' calls: the time it shows as self is the
 * driver's native work (better-sqlite3 runs SQLite inside the call; pg only writes to a socket).
 */
const isTraceWrapper = (frame: CallFrame) => frame.url.endsWith('bench/sql-trace.ts');

function bucket(frame: CallFrame): string {
  if (isTraceWrapper(frame)) return 'database driver, native (traced)';
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (frame.url.startsWith('node:')) return 'node: core';
  const where = location(frame.url);
  if (frame.url.includes('node_modules/')) {
    const parts = where.split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? where);
  }
  const parts = where.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : where;
}

function key(frame: CallFrame): string {
  if (isTraceWrapper(frame)) return 'driver call: better-sqlite3 prepare/run/get/all/exec or pg query (native, via bench/sql-trace.ts)';
  const name = frame.functionName || '(anonymous)';
  const where = location(frame.url);
  // Sources loaded through tsx report line 1 for everything: the file name is all we know.
  return where ? (frame.lineNumber > 0 ? `${name}  ${where}:${frame.lineNumber + 1}` : `${name}  ${where}`) : name;
}

const isOwn = (frame: CallFrame) => location(frame.url).startsWith('src/');

export interface ProfileSummary {
  totalMs: number;
  /** Samples outside `(idle)`: what the shares are of. */
  busyMs: number;
  /** Self time of every sample, charged to the nearest Topup (src/) function on its stack. */
  byOwnCaller: { name: string; ms: number; share: number }[];
  selfByFunction: { name: string; ms: number; share: number }[];
  selfByBucket: { name: string; ms: number; share: number }[];
  inclusiveOwn: { name: string; ms: number; share: number }[];
}

/**
 * `windows`: [start, end] pairs in µs of the monotonic clock (`process.hrtime.bigint() / 1000n`
 * in any process on the machine: V8 stamps samples with the same clock); only samples inside
 * them count. Unset: the whole profile, start-up included.
 */
export function summariseProfile(file: string, top = 25, windows: [number, number][] | null = null): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (windows && !windows.some(([from, to]) => at >= from && at <= to)) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  let total = 0;
  let idle = 0;
  const ownCaller = new Map<string, number>();
  const fnSelf = new Map<string, number>();
  const bucketSelf = new Map<string, number>();
  const ownInclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    if (node.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    fnSelf.set(key(node.callFrame), (fnSelf.get(key(node.callFrame)) ?? 0) + us);
    bucketSelf.set(bucket(node.callFrame), (bucketSelf.get(bucket(node.callFrame)) ?? 0) + us);
    // Inclusive time of our own functions (src/…): walk up the stack, count each function once.
    const seen = new Set<string>();
    let caller: string | null = null;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame || !isOwn(frame)) continue;
      const k = key(frame);
      caller ??= `${k}  ←  ${key(node.callFrame)}`;
      if (seen.has(k)) continue;
      seen.add(k);
      ownInclusive.set(k, (ownInclusive.get(k) ?? 0) + us);
    }
    // Library and native time after an await has no Topup frame on its (synchronous) stack.
    const charged = caller ?? `(no src/ frame on the stack)  ←  ${bucket(node.callFrame)}`;
    ownCaller.set(charged, (ownCaller.get(charged) ?? 0) + us);
  }
  const busy = total - idle;
  const rank = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));
  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    selfByFunction: rank(fnSelf),
    selfByBucket: rank(bucketSelf),
    inclusiveOwn: rank(ownInclusive),
    byOwnCaller: rank(ownCaller),
  };
}

export function formatProfileSummary(summary: ProfileSummary, title: string): string {
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)} %`;
  const lines = [
    `# ${title} — ${(summary.totalMs / 1000).toFixed(1)} s of samples, ${(summary.busyMs / 1000).toFixed(1)} s busy (shares are of busy time)`,
    '',
    '## self time by package / folder',
  ];
  for (const row of summary.selfByBucket) lines.push(`${pct(row.share)}  ${row.name}`);
  lines.push('', '## self time by function');
  for (const row of summary.selfByFunction) lines.push(`${pct(row.share)}  ${row.name}`);
  lines.push('', '## inclusive time of Topup functions (src/; synchronous stacks only)');
  for (const row of summary.inclusiveOwn) lines.push(`${pct(row.share)}  ${row.name}`);
  lines.push('', '## self time charged to the nearest Topup function on the stack  (caller  ←  where the time went)');
  for (const row of summary.byOwnCaller) lines.push(`${pct(row.share)}  ${row.name}`);
  return `${lines.join('\n')}\n`;
}

/** Per-statement timings from bench/sql-trace.ts, per response of the measured runs. */
export function formatSqlTrace(trace: SqlTrace, top = 25): string {
  const requests = trace.responses;
  const pool = '(wait for a pooled connection)';
  const rows = Object.entries(trace.statements)
    .map(([statement, s]) => ({ statement, ...s, total: s.ns + s.prepareNs }))
    .sort((a, b) => b.total - a.total);
  const statements = rows.filter((r) => r.statement !== pool);
  const totalNs = statements.reduce((sum, r) => sum + r.total, 0);
  const wall = trace.recordedNs;
  const share = (ns: number) => `${((ns / Math.max(wall, 1)) * 100).toFixed(1).padStart(6)} %`;
  const per = (n: number) => (requests > 0 ? (n / requests).toFixed(2) : '—').padStart(7);
  const calls = (statement: string) => trace.statements[statement]?.calls ?? 0;
  const statementCount = statements.reduce((n, r) => n + r.calls, 0);
  // Group commit runs each operation in `savepoint group_op`: operations per COMMIT is the batch size.
  const batch =
    calls('commit') > 0 && calls('savepoint group_op') > 0
      ? [`group commit: ${(calls('savepoint group_op') / calls('commit')).toFixed(2)} operations per COMMIT`]
      : [];
  const head =
    trace.dialect === 'sqlite'
      ? [
          `## SQLite calls on the main thread during the measured runs (${requests} responses sent in ${(wall / 1e9).toFixed(1)} s)`,
          `${share(totalNs)} of wall time blocked inside better-sqlite3 (prepare + run/get/all/exec); ${per(statementCount).trim()} statements and ${per(rows.reduce((n, r) => n + r.prepares, 0)).trim()} prepares per response`,
        ]
      : [
          `## PostgreSQL round trips during the measured runs (${requests} responses sent in ${(wall / 1e9).toFixed(1)} s)`,
          `${per(statementCount).trim()} queries per response; queries in flight ${(totalNs / Math.max(wall, 1)).toFixed(1)} on average (time % below can pass 100: the pool runs several at once)`,
          `waiting for a pooled connection: ${per(calls(pool)).trim()} waits per response, mean ${calls(pool) > 0 ? ((trace.statements[pool]?.ns ?? 0) / calls(pool) / 1e6).toFixed(2) : '—'} ms`,
        ];
  const lines = [...head, ...batch, '', '   time %  per resp   mean µs   prepare µs  statement'];
  for (const r of rows.slice(0, top)) {
    const mean = r.calls > 0 ? (r.ns / r.calls / 1000).toFixed(1) : '—';
    const prep = r.prepares > 0 ? (r.prepareNs / r.prepares / 1000).toFixed(1) : '—';
    lines.push(`${share(r.total)}  ${per(r.calls)}  ${mean.padStart(8)}  ${prep.padStart(10)}  ${r.statement}`);
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  for (const file of positionals) {
    process.stdout.write(formatProfileSummary(summariseProfile(file, Number(values.top)), path.basename(file)));
  }
}
