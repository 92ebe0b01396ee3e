import { randomUUID } from 'node:crypto';
import { SeededRandom } from '../../src/channels/sandbox/faults.js';
import { signSandboxNotification } from '../../src/channels/sandbox/index.js';
import type { SandboxTables } from '../../src/channels/sandbox/sandbox.migration.js';
import type { Db } from '../../src/store/database.js';
import { ChaosHttp, type Json, type Res, items, num, sleep, str } from './chaos-http.js';
import type { Cluster } from './cluster.js';

export const ADMIN_EMAIL = 'admin@chaos.test';
export const ADMIN_PASSWORD = 'admin-password-1';

const CARDS = { bank: '6222020000000007', visa: '4111111111111111', mastercard: '5555555555554444' };
const METHODS = ['bank_card', 'credit_card', 'alipay', 'wechat_pay'] as const;
/** Sandbox amount triggers mixed into the random amounts: timeouts, duplicates, silence, late money, refund failures. */
const TRIGGERS = [6601, 6602, 6603, 6604, 6606, 6607, 6608, 6609, 6610] as const;
const TRIGGER_SET = new Set<number>([...TRIGGERS, 6605, 6611]);

export function pick<T>(random: SeededRandom, list: readonly T[]): T {
  const item = list[Math.floor(random.next() * list.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

export interface Customer {
  id: string;
  token: string;
}

export interface Staff {
  agent: string;
  supervisor: string;
  admin: string;
}

/** An idempotent request whose outcome the run never learnt (network or key in use): retried in the drain. */
interface Unsettled {
  method: string;
  path: string;
  body: unknown;
  token: string;
  key: string;
}

/** What the driver did and saw; `problems` are answers that break the contract (a 5xx, an unexpected status). */
export class Tally {
  readonly operations: Record<string, number> = {};
  readonly outcomes: Record<string, number> = {};
  readonly problems: string[] = [];
  kills = 0;
  clockAdvances = 0;
  replaysSent = 0;
  replaysRefused = 0;

  op(kind: string, res: Res | null, expected: readonly number[]): void {
    this.operations[kind] = (this.operations[kind] ?? 0) + 1;
    const label = `${kind} ${res ? res.status : 'network'}${res && typeof res.body.code === 'string' ? ` ${res.body.code}` : ''}`;
    this.outcomes[label] = (this.outcomes[label] ?? 0) + 1;
    if (res && !expected.includes(res.status)) {
      this.problems.push(`${kind}: unexpected ${res.status} ${res.text.slice(0, 500)}`);
    }
  }

  get totalOperations(): number {
    return Object.values(this.operations).reduce((a, b) => a + b, 0);
  }
}

/** 409 IDEMPOTENCY_KEY_IN_USE is legitimate while a killed request's lease runs. */
const IN_USE = 409;

export class Workload {
  readonly http: ChaosHttp;
  readonly tally = new Tally();
  readonly unsettled: Unsettled[] = [];
  customers: Customer[] = [];
  staff: Staff = { agent: '', supervisor: '', admin: '' };
  private stopped = false;

  constructor(
    readonly cluster: Cluster,
    readonly db: Db,
    readonly seed: number,
  ) {
    this.http = new ChaosHttp(cluster);
  }

  stop(): void {
    this.stopped = true;
  }

  get running(): boolean {
    return !this.stopped;
  }

  private async must(method: string, path: string, body: unknown, token: string | undefined, status: number): Promise<Json> {
    const res = await this.http.call(method, path, { body, token, key: randomUUID() });
    if (!res || res.status !== status) throw new Error(`${method} ${path}: ${res ? `${res.status} ${res.text}` : 'no answer'}`);
    return res.body;
  }

  async setUp(customers: number): Promise<void> {
    const login = async (email: string, password: string) =>
      str((await this.must('POST', '/v1/auth/login', { email, password }, undefined, 200)).token);
    this.staff.admin = await login(ADMIN_EMAIL, ADMIN_PASSWORD);
    for (const role of ['cs_agent', 'cs_supervisor'] as const) {
      const email = `${role}-${randomUUID()}@chaos.test`;
      await this.must('POST', '/v1/admin/staff', { email, password: 'staff-pass-123', role }, this.staff.admin, 201);
      const token = await login(email, 'staff-pass-123');
      if (role === 'cs_agent') this.staff.agent = token;
      else this.staff.supervisor = token;
    }
    for (let i = 0; i < customers; i++) {
      const body = await this.must(
        'POST',
        '/v1/auth/register',
        {
          email: `chaos-${i}-${randomUUID()}@example.com`,
          password: 'customer-pass-1',
          phone: `1380013${String(8000 + i).padStart(4, '0')}`,
        },
        undefined,
        201,
      );
      const user = body.user as Json;
      this.customers.push({ id: str(user.id), token: str(body.token) });
    }
  }

  /** An idempotent POST: retried through kills with its key; left for the drain when the key stays in use. */
  private async idempotent(kind: string, path: string, body: unknown, token: string, expected: readonly number[]): Promise<Res | null> {
    const key = randomUUID();
    let res: Res | null = null;
    for (let i = 0; i < 3; i++) {
      res = await this.http.call('POST', path, { body, token, key });
      if (!res || res.status !== IN_USE) break;
      await sleep(500);
    }
    this.tally.op(kind, res, [...expected, IN_USE]);
    if (!res || res.status === IN_USE) this.unsettled.push({ method: 'POST', path, body, token, key });
    else if (res.status < 300 && Math.random() < 0.1) {
      // The same request again: the stored answer, never a second effect.
      const again = await this.http.call('POST', path, { body, token, key });
      if (again && again.status !== IN_USE && (again.status !== res.status || again.body.id !== res.body.id || !again.replayed)) {
        this.tally.problems.push(`${kind}: replay of key ${key} answered ${again.status} ${again.text.slice(0, 300)}`);
      }
    }
    return res;
  }

  private rechargeBody(random: SeededRandom): Json {
    const method = pick(random, METHODS);
    const triggered = random.next() < 0.15;
    let amount = triggered ? pick(random, TRIGGERS) : 100 + Math.floor(random.next() * 30_000);
    // Only the chosen triggers behave specially; a random amount that happens to be one is moved off it.
    if (!triggered && TRIGGER_SET.has(amount)) amount += 20;
    const code = random.next() < 0.08 ? '000' : pick(random, ['987', '123', '456']);
    const paymentMethod =
      method === 'bank_card'
        ? { card_number: CARDS.bank, expiry: '12/39', verification_code: code, holder_name: '张三' }
        : method === 'credit_card'
          ? { card_number: pick(random, [CARDS.visa, CARDS.mastercard]), expiry: '12/39', verification_code: code, holder_name: 'Li Si' }
          : { payer_account: random.next() < 0.05 ? 'invalid@sandbox' : `payer-${Math.floor(random.next() * 1000)}@example.com` };
    return { amount, currency: 'CNY', method, payment_method: paymentMethod };
  }

  private async balance(c: Customer): Promise<number> {
    const res = await this.http.call('GET', '/v1/balance', { token: c.token });
    this.tally.op('read', res, [200]);
    return res?.status === 200 ? num(res.body.available) : 0;
  }

  /** One customer's next step, chosen by its own seeded stream. */
  private async customerStep(c: Customer, random: SeededRandom): Promise<void> {
    const u = random.next();
    if (u < 0.42) {
      // 422: refused before any channel call (the customer's daily limit, a card check).
      await this.idempotent('recharge', '/v1/recharges', this.rechargeBody(random), c.token, [201, 422]);
    } else if (u < 0.6) {
      const available = await this.balance(c);
      const amount = 1 + Math.floor(random.next() * (available + 2_000));
      await this.idempotent('purchase', '/v1/purchases', { amount, description: 'chaos api usage' }, c.token, [201, 422]);
    } else if (u < 0.75) {
      const list = await this.http.call('GET', '/v1/recharges?status=succeeded&limit=50', { token: c.token });
      this.tally.op('read', list, [200]);
      const candidates = items(list?.body.data).filter((r) => num(r.amount) - num(r.refunded_amount) > 0);
      if (candidates.length === 0) return;
      const order = pick(random, candidates);
      const available = await this.balance(c);
      const ceiling = Math.min(num(order.amount) - num(order.refunded_amount), available);
      if (ceiling < 1) return;
      const amount = 1 + Math.floor(random.next() * ceiling);
      await this.idempotent(
        'refund application',
        '/v1/refunds',
        { recharge_id: order.id, amount, reason: 'unused_balance', description: '不再使用 (chaos)' },
        c.token,
        [201, 422],
      );
    } else if (u < 0.85) {
      const list = await this.http.call('GET', '/v1/refunds?limit=50', { token: c.token });
      this.tally.op('read', list, [200]);
      const all = items(list?.body.data);
      const waiting = all.filter((r) => r.status === 'info_requested');
      const open = all.filter((r) => ['submitted', 'under_review', 'info_requested'].includes(str(r.status)));
      if (waiting.length > 0 && random.next() < 0.85) {
        const r = pick(random, waiting);
        const res = await this.http.call('POST', `/v1/refunds/${str(r.id)}/replies`, { body: { message: '已补充说明' }, token: c.token });
        this.tally.op('refund reply', res, [200, 409]);
      } else if (open.length > 0 && random.next() < 0.3) {
        const r = pick(random, open);
        const res = await this.http.call('POST', `/v1/refunds/${str(r.id)}/cancel`, { body: {}, token: c.token });
        this.tally.op('refund cancel', res, [200, 409]);
      }
    } else {
      const path = pick(random, ['/v1/balance', '/v1/recharges?limit=20', '/v1/refunds?limit=20', '/v1/notifications?limit=20', '/v1/me']);
      const res = await this.http.call('GET', path, { token: c.token });
      this.tally.op('read', res, [200]);
    }
  }

  /** Customer service: claims, decisions, requests for information, escalations, compensations. */
  private async staffStep(random: SeededRandom): Promise<void> {
    if (random.next() < 0.12) {
      const c = pick(random, this.customers);
      const amount = 1 + Math.floor(random.next() * 5_000);
      await this.idempotent(
        'compensation',
        '/v1/admin/compensations',
        { user_id: c.id, amount, reason: '补偿 (chaos)' },
        this.staff.agent,
        [201],
      );
      return;
    }
    const queue = await this.http.call('GET', '/v1/admin/refunds?limit=50', { token: this.staff.agent });
    this.tally.op('staff read', queue, [200]);
    const open = items(queue?.body.data);
    if (open.length === 0) return;
    await this.decide(pick(random, open), random, false);
  }

  /** One decision on an open application; `finish` (the drain) never asks for information or escalates. */
  async decide(refund: Json, random: SeededRandom, finish: boolean): Promise<void> {
    const id = str(refund.id);
    const token = num(refund.escalation_level) >= 2 ? this.staff.supervisor : this.staff.agent;
    const act = async (action: string, body: Json) => {
      const res = await this.http.call('POST', `/v1/admin/refunds/${id}/${action}`, { body, token });
      this.tally.op(`staff ${action}`, res, [200, 409, 422]);
      return res;
    };
    const status = str(refund.status);
    if (status === 'submitted' && (finish || random.next() < 0.7)) {
      await act('claim', {});
      return;
    }
    if (status === 'info_requested') {
      if (finish || random.next() < 0.1) await act('reject', { reason: '长时间未补充材料' });
      return;
    }
    const u = random.next();
    if (finish ? u < 0.75 : u < 0.55) {
      const res = await act('approve', { note: 'ok' });
      // Spent since applying: the balance cannot cover it any more.
      if (res?.status === 422) await act('reject', { reason: '余额不足以退款' });
    } else if (finish || u < 0.75) {
      await act('reject', { reason: '不符合退款条件' });
    } else if (u < 0.95) {
      await act('request-info', { message: '请补充支付截图' });
    } else {
      await act('escalate', { note: '需要主管确认' });
    }
  }

  /** Re-sends a notification the channel already delivered, freshly signed as a channel resend would be. */
  private async replayNotification(random: SeededRandom): Promise<void> {
    const sandbox = this.db.withTables<SandboxTables>();
    const delivered = await sandbox
      .selectFrom('sandbox_notifications')
      .select(['provider', 'body'])
      .where('status', '=', 'delivered')
      .orderBy('created_at', 'desc')
      .limit(200)
      .execute();
    if (delivered.length === 0) return;
    const row = pick(random, delivered);
    const clock = await this.db.selectFrom('service_clock').select('offset_ms').where('id', '=', 1).executeTakeFirst();
    const timestamp = String(Math.floor((Date.now() + Number(clock?.offset_ms ?? 0)) / 1000));
    const target = this.cluster.liveApis()[0];
    if (!target) return;
    try {
      const response = await fetch(`${target.url}/v1/channels/${row.provider}/notify`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-sandbox-timestamp': timestamp,
          'x-sandbox-signature': signSandboxNotification(row.provider, timestamp, row.body),
        },
        body: row.body,
        signal: AbortSignal.timeout(30_000),
      });
      await response.arrayBuffer();
      this.tally.replaysSent += 1;
      if (!response.ok) this.tally.replaysRefused += 1;
      if (response.status >= 500) this.tally.problems.push(`notification replay answered ${response.status}`);
    } catch {
      this.http.networkErrors += 1;
    }
  }

  async advance(seconds: number): Promise<void> {
    const res = await this.http.call('POST', '/v1/sandbox/clock/advance', { body: { seconds }, token: this.staff.admin });
    this.tally.op('clock advance', res, [200]);
    this.tally.clockAdvances += 1;
  }

  /** The concurrent phase: customers, staff, the clock, notification replays; until `until` or `maxOps`. */
  async run(until: number, maxOps: number): Promise<void> {
    const done = () => this.stopped || Date.now() > until || this.tally.totalOperations >= maxOps;
    const loops = this.customers.map(async (c, i) => {
      const random = new SeededRandom(this.seed, `customer-${i}`);
      while (!done()) {
        await this.customerStep(c, random);
        await sleep(Math.floor(random.next() * 40));
      }
    });
    loops.push(
      (async () => {
        const random = new SeededRandom(this.seed, 'staff');
        while (!done()) {
          await this.staffStep(random);
          await sleep(50 + Math.floor(random.next() * 200));
        }
      })(),
      (async () => {
        const random = new SeededRandom(this.seed, 'clock');
        while (!done()) {
          await sleep(3_000 + Math.floor(random.next() * 4_000));
          if (!done()) await this.advance(15 + Math.floor(random.next() * 150));
        }
      })(),
      (async () => {
        const random = new SeededRandom(this.seed, 'replay');
        while (!done()) {
          await sleep(500 + Math.floor(random.next() * 1_500));
          if (!done()) await this.replayNotification(random);
        }
      })(),
    );
    await Promise.all(loops);
  }

  /** Retries every request whose outcome was never learnt, with its original key (the takeover path after a crash). */
  async settleUnsettled(): Promise<void> {
    for (const u of this.unsettled.splice(0)) {
      for (let i = 0; i < 20; i++) {
        const res = await this.http.call(u.method, u.path, { body: u.body, token: u.token, key: u.key });
        if (res && res.status !== IN_USE) {
          this.tally.op('retry unsettled', res, [200, 201, 422]);
          break;
        }
        // The dead request's lease (60 s on the service clock) has to run out first.
        await this.advance(61);
      }
    }
  }
}

/** Kills a random process now and then and restarts it (on the same port) after a short pause. */
export async function monkey(
  cluster: Cluster,
  tally: Tally,
  seed: number,
  meanGapMs: number,
  isDone: () => boolean,
  log: (line: string) => void,
): Promise<void> {
  const random = new SeededRandom(seed, 'monkey');
  while (!isDone()) {
    const gap = Math.floor(meanGapMs * (0.5 + random.next()));
    const until = Date.now() + gap;
    while (Date.now() < until && !isDone()) await sleep(100);
    if (isDone()) return;
    const victim = pick(random, cluster.members);
    if (!victim.alive) continue;
    await victim.kill();
    tally.kills += 1;
    log(`chaos: SIGKILL ${victim.name} (kill #${tally.kills})`);
    await sleep(Math.floor(random.next() * 1_500));
    await victim.start();
  }
}
