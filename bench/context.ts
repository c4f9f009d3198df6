/**
 * What every case shares: the counts (fixed, overridable by environment for quick runs), the
 * run's temp folder, the report, the Postfix relay (started once, on first use, with its own
 * sink), and withOutpost(): a fresh sink and a fresh `outpost serve` for one measurement.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { logCounts, startOutpost, type Outpost, type OutpostOptions } from './outpost.js';
import { startPostfix, type Postfix } from './postfix.js';
import { freePort } from './procs.js';
import type { Report } from './report.js';
import { startSink, type Sink } from './sink.js';

function int(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${v}"`);
  return n;
}

export interface Settings {
  submitN: number;
  e2eN: number;
  bigN: number;
  depthFill: number;
  depthRunN: number;
  scanN: number;
  clusterN: number;
  connections: number;
  perConnection: number;
  /** Load generator processes sharing the connections (1 keeps up with ~1,000 msg/s here). */
  loadgenProcs: number;
  /** Bound of one run (submission plus drain), ms. */
  runTimeoutMs: number;
  /** Bound of the whole bench, ms: each case gets an equal share of what is left. */
  budgetMs: number;
  cpuProfDir?: string;
  /** Outpost only (e.g. while profiling): skip the Postfix runs. */
  noPostfix: boolean;
}

export function readSettings(): Settings {
  const n = process.env.BENCH_N ? int('BENCH_N', 1) : undefined;
  return {
    submitN: int('BENCH_SUBMIT_N', n ?? 5000),
    e2eN: int('BENCH_E2E_N', n ?? 10_000),
    bigN: int('BENCH_BIG_N', n ? Math.max(1, Math.ceil(n / 10)) : 1000),
    depthFill: int('BENCH_DEPTH', n ? n * 20 : 100_000),
    depthRunN: int('BENCH_DEPTH_RUN_N', n ?? 2000),
    scanN: int('BENCH_SCAN_N', n ?? 2000),
    clusterN: int('BENCH_CLUSTER_N', n ?? 10_000),
    connections: int('BENCH_CONNECTIONS', 20),
    perConnection: int('BENCH_PER_CONN', 1),
    loadgenProcs: int('BENCH_LOADGEN_PROCS', 1),
    runTimeoutMs: int('BENCH_TIMEOUT_S', 300) * 1000,
    budgetMs: int('BENCH_BUDGET_S', 900) * 1000,
    cpuProfDir: process.env.BENCH_CPU_PROF || undefined,
    noPostfix: !!process.env.BENCH_NO_POSTFIX,
  };
}

/** Work units of one run: 100 KB messages cost about half as much again as 1 KB ones. */
export function unitsOf(count: number, size: number): number {
  return size > 10_240 ? count * 1.5 : count;
}

export interface OutpostRun<T> {
  result: T;
  peakMb: number;
  /** Log events by name, e.g. { accepted: 5000, 'attempt:delivered': 5000 }. */
  events: Record<string, number>;
}

export class BenchContext {
  private postfixRun: { pf: Postfix; sink: Sink } | null = null;
  private seq = 0;
  private readonly budgetEnd: number;
  /** Work still planned, in units of one 1 KB message through one server (see unitsOf). */
  private unitsLeft = 0;

  constructor(readonly settings: Settings, readonly report: Report, readonly tmp: string) {
    this.budgetEnd = Date.now() + settings.budgetMs;
  }

  /** Adds the work of the chosen cases, before they run. */
  plan(units: number): void {
    this.unitsLeft += units;
  }

  /** Work planned and not yet started. */
  get planned(): number {
    return this.unitsLeft;
  }

  /** After a case (also one that failed half-way): only the later cases' work is left. */
  settle(units: number): void {
    this.unitsLeft = Math.min(this.unitsLeft, units);
  }

  /** Work that was planned and will not be done (a skipped variant). */
  skip(units: number): void {
    this.unitsLeft = Math.max(0, this.unitsLeft - units);
  }

  /**
   * The time limit of a run of `units`: its part of what is left of the budget, in proportion
   * to the work still planned, so a fast server leaves time to a slow one and no case starves
   * the ones after it. At least 30 s, at most BENCH_TIMEOUT_S. A run that hits its limit
   * stops sending and reports what it did, marked "time-out".
   */
  runLimitMs(units: number): number {
    const share = ((this.budgetEnd - Date.now()) * units) / Math.max(units, this.unitsLeft);
    this.skip(units);
    return Math.round(Math.min(this.settings.runTimeoutMs, Math.max(30_000, share)));
  }

  /** A new folder under the run's temp folder. */
  dir(name: string): string {
    const d = path.join(this.tmp, `${String(++this.seq).padStart(2, '0')}-${name}`);
    mkdirSync(d, { recursive: true });
    return d;
  }

  /** The Postfix relay and the sink behind it, started on first use. */
  async postfix(): Promise<{ pf: Postfix; sink: Sink }> {
    if (!this.postfixRun) {
      const sink = await startSink(await freePort());
      const pf = await startPostfix(sink.port, path.join(this.tmp, 'peers'));
      this.postfixRun = { pf, sink };
    }
    return this.postfixRun;
  }

  async stopPostfix(): Promise<void> {
    if (!this.postfixRun) return;
    await this.postfixRun.pf.stop();
    await this.postfixRun.sink.stop();
    this.postfixRun = null;
  }

  /**
   * Runs `fn` against a fresh `outpost serve` delivering to a fresh sink; stops both after,
   * and returns the process's peak memory and what it logged.
   */
  async withOutpost<T>(
    name: string,
    opts: Partial<OutpostOptions>,
    fn: (o: Outpost, sink: Sink) => Promise<T>,
  ): Promise<OutpostRun<T>> {
    return this.withOutposts(name, [opts], (nodes, sink) => fn(nodes[0]!, sink));
  }

  /**
   * The same with several nodes (one `outpost serve` per entry of `nodes`, started one after
   * the other), all delivering to one sink. peakMb is the largest of the nodes' peaks.
   */
  async withOutposts<T>(
    name: string,
    nodes: Array<Partial<OutpostOptions>>,
    fn: (o: Outpost[], sink: Sink) => Promise<T>,
  ): Promise<OutpostRun<T>> {
    const sink = await startSink(await freePort());
    const running: Outpost[] = [];
    try {
      for (const [i, opts] of nodes.entries()) {
        const dir = this.dir(nodes.length > 1 ? `${name}-node${i + 1}` : name);
        running.push(await startOutpost({ dir, sinkPort: sink.port, cpuProfDir: this.settings.cpuProfDir, ...opts }));
      }
      const result = await fn(running, sink);
      const peakMb = Math.max(...running.map((o) => o.memory().peakMb));
      for (const o of running) await o.stop();
      const events: Record<string, number> = {};
      for (const o of running) {
        for (const [k, v] of Object.entries(logCounts(o.logPath))) events[k] = (events[k] ?? 0) + v;
      }
      return { result, peakMb, events };
    } finally {
      for (const o of running) await o.stop();
      await sink.stop();
    }
  }
}

/** A short description of anything unusual in an Outpost log (deferrals, errors, refusals). */
export function logNote(events: Record<string, number>): string | undefined {
  const odd = Object.entries(events).filter(([k]) =>
    /deferred|bounced|failed|refused|error|warning|notice/.test(k) || /:level/.test(k));
  return odd.length ? `log: ${odd.map(([k, v]) => `${k}=${v}`).join(', ')}` : undefined;
}
