/**
 * The two measurements every case is made of, against any SMTP server (Outpost or Postfix):
 * - submit: the load generator (its own process) sends N messages; rate and latency of the
 *   final reply after the dot;
 * - end to end: the same, plus the time until the sink has received all N.
 * Both also wait (bounded) for the server's queue to drain, so the next run starts clean.
 */
import path from 'node:path';
import { machineTicks } from './cpu.js';
import { percentile, type LoadResult, type LoadSpec } from './loadgen.js';
import { REPO_ROOT, startChild, terminate } from './procs.js';
import type { Sink } from './sink.js';

export const SENDER = 'bench@example.test';
export const RECIPIENT = 'rcpt@example.net';

export interface LoadParams {
  targets: string[];
  count: number;
  size: number;
  connections: number;
  perConnection: number;
  /** Load generator processes (BENCH_LOADGEN_PROCS). */
  procs: number;
  /** Limit of the whole run: sending (85 % of it) and then waiting for the sink. */
  timeoutMs: number;
}

export interface RunFigures {
  n: number;
  size: number;
  connections: number;
  perConnection: number;
  sent: number;
  refused: number;
  failedSessions: number;
  errors: string[];
  /** Messages per second from the first connect to the last final reply. */
  submitRate: number;
  p50: number;
  p99: number;
  /** Messages per second from the first connect until the sink had all N (end to end). */
  e2eRate?: number;
  /** Seconds from the last 250 until the sink had all N. */
  drainS?: number;
  /** How many the sink got when the wait ended. */
  delivered?: number;
  timedOut: boolean;
  /** CPU time the server under test used per message (submission and delivery), ms. */
  cpuMsPerMsg?: number;
  /** How busy all CPUs of the machine were during the run (everything on it), %. */
  machineBusyPct: number;
}

/**
 * Runs the load as `procs` generator processes (connections and messages split evenly), so
 * the generator is not the limit when one process cannot keep up; merges their results.
 */
export async function runLoad(spec: LoadSpec, procs: number): Promise<LoadResult> {
  if (procs <= 1) return runLoadgen(spec);
  const part = (total: number, i: number): number => Math.floor(total / procs) + (i < total % procs ? 1 : 0);
  const parts = await Promise.all(Array.from({ length: procs }, (_, i) =>
    runLoadgen({ ...spec, count: part(spec.count, i), connections: Math.max(1, part(spec.connections, i)), raw: true })));
  const lat = parts.flatMap((r) => r.latencies ?? []).sort((a, b) => a - b);
  const start = Math.min(...parts.map((r) => r.startedAt));
  const end = Math.max(...parts.map((r) => r.startedAt + r.elapsedMs));
  const mean = lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length);
  return {
    sent: parts.reduce((a, r) => a + r.sent, 0),
    refused: parts.reduce((a, r) => a + r.refused, 0),
    failedSessions: parts.reduce((a, r) => a + r.failedSessions, 0),
    errors: parts.flatMap((r) => r.errors).slice(0, 10),
    elapsedMs: end - start,
    startedAt: start,
    latencyMs: {
      p50: percentile(lat, 50),
      p90: percentile(lat, 90),
      p99: percentile(lat, 99),
      max: lat.at(-1) ?? 0,
      mean: Math.round(mean * 100) / 100,
    },
    timedOut: parts.some((r) => r.timedOut),
  };
}

/** Runs one load generator as a child process; resolves with its result. */
export function runLoadgen(spec: LoadSpec): Promise<LoadResult> {
  const child = startChild(process.execPath, [path.join(REPO_ROOT, 'dist', 'bench', 'loadgen.js'), JSON.stringify(spec)]);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  // The generator bounds itself; this is the backstop if it hangs.
  const backstop = setTimeout(() => void terminate(child, 2000), spec.timeoutMs + 30_000);
  return new Promise((resolve, reject) => {
    child.on('close', () => {
      clearTimeout(backstop);
      const done = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string }).find((l) => l.event === 'done');
      if (done) resolve(done as unknown as LoadResult);
      else reject(new Error(`load generator gave no result: ${err.slice(-2000)}`));
    });
  });
}

function spec(p: LoadParams): LoadSpec {
  const { procs: _procs, ...rest } = p;
  return { ...rest, timeoutMs: Math.round(p.timeoutMs * 0.85), from: SENDER, to: RECIPIENT };
}

const rate = (n: number, ms: number): number => Math.round((n * 1000) / Math.max(1, ms));

/**
 * Submits and then waits (within the run's limit, at least 15 s) until the sink has every
 * message, so the server's queue is empty before the next run; the end-to-end figure is
 * kept as well.
 */
export async function measure(p: LoadParams, sink: Sink, serverCpuMs?: () => number): Promise<RunFigures> {
  const runStart = Date.now();
  const before = sink.count();
  const cpu0 = serverCpuMs?.();
  const m0 = machineTicks();
  const r = await runLoad(spec(p), p.procs);
  const target = before + r.sent;
  const doneAt = await sink.waitFor(target, Math.max(15_000, runStart + p.timeoutMs - Date.now()));
  const m1 = machineTicks();
  const cpu1 = serverCpuMs?.();
  const lastReply = r.startedAt + r.elapsedMs;
  const figures: RunFigures = {
    n: p.count,
    size: p.size,
    connections: p.connections,
    perConnection: p.perConnection,
    sent: r.sent,
    refused: r.refused,
    failedSessions: r.failedSessions,
    errors: r.errors,
    submitRate: rate(r.sent, r.elapsedMs),
    p50: r.latencyMs.p50,
    p99: r.latencyMs.p99,
    delivered: sink.count() - before,
    timedOut: r.timedOut || doneAt === null,
    machineBusyPct: Math.round((100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total)),
  };
  if (cpu0 !== undefined && cpu1 !== undefined && r.sent > 0) figures.cpuMsPerMsg = Math.round(((cpu1 - cpu0) / r.sent) * 100) / 100;
  if (doneAt !== null) {
    figures.e2eRate = rate(r.sent, doneAt - r.startedAt);
    figures.drainS = Math.max(0, Math.round((doneAt - lastReply) / 100) / 10);
  }
  return figures;
}
