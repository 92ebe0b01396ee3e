import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../support/processes.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** Keep the tail of each process's output: enough to explain a failure, bounded for long runs. */
const OUTPUT_TAIL = 200_000;

export type Role = 'serve' | 'api' | 'worker';

/**
 * One `topup` process of the deployment under test, restartable on the same port so that a
 * worker's TOPUP_PUBLIC_URL (where channel notifications go) stays valid across kills.
 */
export class Member {
  child: ChildProcess | null = null;
  output = '';
  /** `unexpected error` and `job is dead` lines seen over every incarnation. */
  readonly alarms: string[] = [];
  starts = 0;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly role: Role,
    readonly port: number,
    private readonly env: Record<string, string>,
    /** Extra variables per incarnation (a fresh fault seed after each restart). */
    private readonly perStart: (incarnation: number) => Record<string, string> = () => ({}),
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and waits until it answers /readyz (workers: until it logged nothing fatal for a moment). */
  async start(): Promise<void> {
    if (this.alive) return;
    this.starts += 1;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), this.role], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ...this.env, ...this.perStart(this.starts), PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let pending = '';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      this.output = (this.output + text).slice(-OUTPUT_TAIL);
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.includes('"unexpected error"') || line.includes('"job is dead"') || line.includes('"request failed"')) {
          this.alarms.push(line.slice(0, 4000));
        }
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 60_000;
    if (this.role === 'worker') {
      // A worker does not listen; give it a moment to fail fast on a bad configuration.
      await new Promise((resolve) => setTimeout(resolve, 300));
      if (child.exitCode !== null) throw new Error(`${this.name} exited early:\n${this.output.slice(-4000)}`);
      return;
    }
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${this.name} exited early:\n${this.output.slice(-4000)}`);
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.name} did not become ready:\n${this.output.slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** SIGKILL: no shutdown hooks, no flushing. */
  async kill(): Promise<void> {
    if (this.alive) this.child?.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.alive) this.child?.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface ClusterShape {
  /** `serve` processes (SQLite: exactly one). */
  serve: number;
  api: number;
  worker: number;
}

/** The processes of one deployment sharing one database. */
export class Cluster {
  readonly members: Member[] = [];

  private constructor() {}

  static async create(
    shape: ClusterShape,
    env: Record<string, string>,
    perStart: (member: number, incarnation: number) => Record<string, string> = () => ({}),
  ): Promise<Cluster> {
    const cluster = new Cluster();
    const apiPorts: number[] = [];
    for (let i = 0; i < shape.serve + shape.api; i++) apiPorts.push(await freePort());
    let n = 0;
    const add = (name: string, role: Role, port: number, memberEnv: Record<string, string>) => {
      const index = cluster.members.length;
      cluster.members.push(new Member(name, role, port, memberEnv, (incarnation) => perStart(index, incarnation)));
    };
    for (let i = 0; i < shape.serve; i++) add(`serve-${i}`, 'serve', apiPorts[n++] ?? 0, env);
    for (let i = 0; i < shape.api; i++) add(`api-${i}`, 'api', apiPorts[n++] ?? 0, env);
    // Workers send channel notifications to an API process (the first): while it is down they
    // fail and are resent later, which is one more fault the run goes through.
    const publicUrl = cluster.members[0]?.url ?? '';
    for (let i = 0; i < shape.worker; i++) {
      add(`worker-${i}`, 'worker', await freePort(), { ...env, TOPUP_PUBLIC_URL: publicUrl });
    }
    return cluster;
  }

  get apis(): Member[] {
    return this.members.filter((m) => m.role !== 'worker');
  }

  liveApis(): Member[] {
    return this.apis.filter((m) => m.alive);
  }

  /** Starts every member that is not running; the first API alone first (it runs the migrations). */
  async startAll(): Promise<void> {
    const [first, ...rest] = this.members;
    await first?.start();
    await Promise.all(rest.map((m) => m.start()));
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }

  alarms(): string[] {
    return this.members.flatMap((m) => m.alarms.map((a) => `${m.name}: ${a}`));
  }
}
