import { createHash } from 'node:crypto';

/**
 * Random-fault mode for chaos tests (`TOPUP_SANDBOX_FAULTS`, `config.sandboxFaults`).
 *
 * Format: comma-separated `name=value` pairs, e.g.
 *   `busy=0.1,timeout=0.05,duplicate=0.05,lost_notify=0.1,late=0.02,refund_fail=0.05,seed=42`
 *
 * Rates are probabilities in [0, 1] per call; names left out are 0. Per pay() call on an amount
 * that is not a trigger, one draw picks at most one of the payment faults (so their rates must
 * add up to at most 1):
 *   - `busy`        internal error, nothing collected (ChannelFault 'busy')
 *   - `timeout`     no answer (ChannelFault 'timeout'); a second draw decides 50/50 whether the
 *                   channel collected (query says paid, notification 2 min later) or not (closed)
 *   - `duplicate`   collects twice, two notifications (like 6606)
 *   - `lost_notify` collects, answers processing, never notifies (like 6607)
 *   - `late`        answers declined SYSTEM_BUSY, collects and notifies 10 min later (like 6610)
 * Per refund() call (the first call for a refund id, on a payment that is not a trigger):
 *   - `refund_fail` transient busy; a retry with the same refund id is accepted (like 6608)
 * `seed` (integer, default 1) seeds the PRNG: the same seed and the same sequence of calls give
 * the same faults. Each provider draws from its own stream (seed mixed with the provider name).
 */
export interface SandboxFaults {
  busy: number;
  timeout: number;
  duplicate: number;
  lostNotify: number;
  late: number;
  refundFail: number;
  seed: number;
}

const RATE_KEYS = {
  busy: 'busy',
  timeout: 'timeout',
  duplicate: 'duplicate',
  lost_notify: 'lostNotify',
  late: 'late',
  refund_fail: 'refundFail',
} as const satisfies Record<string, keyof SandboxFaults>;

export function parseSandboxFaults(spec: string | null | undefined): SandboxFaults | null {
  if (spec === null || spec === undefined || spec.trim() === '') return null;
  const faults: SandboxFaults = { busy: 0, timeout: 0, duplicate: 0, lostNotify: 0, late: 0, refundFail: 0, seed: 1 };
  for (const part of spec.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const [name, raw, ...rest] = item.split('=').map((s) => s.trim());
    if (!name || raw === undefined || raw === '' || rest.length > 0) {
      throw new Error(`TOPUP_SANDBOX_FAULTS: "${item}" is not name=value`);
    }
    const value = Number(raw);
    if (name === 'seed') {
      if (!Number.isSafeInteger(value)) throw new Error(`TOPUP_SANDBOX_FAULTS: seed must be an integer, got "${raw}"`);
      faults.seed = value;
      continue;
    }
    if (!Object.hasOwn(RATE_KEYS, name)) {
      throw new Error(`TOPUP_SANDBOX_FAULTS: unknown fault "${name}" (known: ${Object.keys(RATE_KEYS).join(', ')}, seed)`);
    }
    if (!Number.isFinite(value) || value < 0 || value > 1) {
      throw new Error(`TOPUP_SANDBOX_FAULTS: ${name} must be a rate between 0 and 1, got "${raw}"`);
    }
    faults[RATE_KEYS[name as keyof typeof RATE_KEYS]] = value;
  }
  const payTotal = faults.busy + faults.timeout + faults.duplicate + faults.lostNotify + faults.late;
  if (payTotal > 1 + 1e-9) throw new Error(`TOPUP_SANDBOX_FAULTS: payment fault rates add up to ${payTotal}, more than 1`);
  return faults;
}

/** mulberry32: a small, fast, seedable PRNG; uniform in [0, 1). */
export class SeededRandom {
  private state: number;

  constructor(seed: number, stream: string) {
    const mix = createHash('sha256').update(`${seed}:${stream}`).digest().readUInt32LE(0);
    this.state = mix >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

export type RandomPayFault = 'busy' | 'timeout_collected' | 'timeout_closed' | 'duplicate' | 'lost_notify' | 'late' | null;

/** One pay() call's fate in random-fault mode. */
export function drawPayFault(faults: SandboxFaults, random: SeededRandom): RandomPayFault {
  const u = random.next();
  let edge = faults.busy;
  if (u < edge) return 'busy';
  edge += faults.timeout;
  if (u < edge) return random.next() < 0.5 ? 'timeout_collected' : 'timeout_closed';
  edge += faults.duplicate;
  if (u < edge) return 'duplicate';
  edge += faults.lostNotify;
  if (u < edge) return 'lost_notify';
  edge += faults.late;
  if (u < edge) return 'late';
  return null;
}
