/**
 * One `outpost serve` process for a bench case: its config (free loopback ports, the test DNS,
 * delivery of example.net routed to the case's sink, rate limits out of the way), its log
 * written to a file as in production (not parsed while the bench runs), and its peak memory.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'smol-toml';
import { processCpuMs } from './cpu.js';
import { freePort, REPO_ROOT, startChild, terminate, waitForSmtp } from './procs.js';

export const TEST_DNS = process.env.OUTPOST_TEST_DNS ?? '127.0.0.53:5300';

export interface OutpostOptions {
  /** Folder for config, log and (unless dataDir) the data dir. */
  dir: string;
  dataDir?: string;
  sinkPort: number;
  nodeId?: string;
  /** Extra top-level tables merged into the config (scan, store, ...). */
  extra?: Record<string, unknown>;
  /** Write a V8 CPU profile into this folder when the process exits. */
  cpuProfDir?: string;
}

export interface Outpost {
  pid: number;
  submission: string;
  dataDir: string;
  logPath: string;
  /** VmHWM (peak resident set) and VmRSS from /proc/<pid>/status, in MB. */
  memory(): { peakMb: number; rssMb: number };
  /** CPU time used so far (all threads), ms. */
  cpuMs(): number;
  stop(): Promise<number | null>;
}

/** The rate limits are for customers; the bench sends from one trusted address by design. */
const NO_LIMITS = {
  recipients_per_hour: 100_000_000,
  messages_per_hour: 100_000_000,
  recipients_per_message: 100,
};

export async function startOutpost(o: OutpostOptions): Promise<Outpost> {
  mkdirSync(o.dir, { recursive: true });
  const dataDir = o.dataDir ?? path.join(o.dir, 'data');
  const [sub, subs, web] = [await freePort(), await freePort(), await freePort()];
  const config: Record<string, unknown> = {
    hostname: 'outpost.example.test',
    data_dir: dataDir,
    ...(o.nodeId ? { node_id: o.nodeId } : {}),
    smtp: { submission: [`127.0.0.1:${sub}`], submissions: [`127.0.0.1:${subs}`] },
    web: { listen: [`127.0.0.1:${web}`] },
    dns: { servers: [TEST_DNS] },
    delivery: { routes: { 'example.net': `127.0.0.1:${o.sinkPort}` } },
    limits: NO_LIMITS,
    ...o.extra,
  };
  const configPath = path.join(o.dir, 'outpost.toml');
  writeFileSync(configPath, stringify(config) + '\n');
  const logPath = path.join(o.dir, 'outpost.log');
  const logFd = openSync(logPath, 'a');
  const nodeArgs = o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : [];
  const child: ChildProcess = startChild(
    process.execPath,
    [...nodeArgs, path.join(REPO_ROOT, 'bin', 'outpost.js'), 'serve', '--config', configPath],
    { cwd: o.dir, stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  try {
    await waitForSmtp('127.0.0.1', sub, 30_000, () => child.exitCode === null && child.signalCode === null);
  } catch (err) {
    await terminate(child, 2000);
    const log = readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`outpost serve did not start: ${(err as Error).message}\n${log}`);
  }
  return {
    pid: child.pid!,
    submission: `127.0.0.1:${sub}`,
    dataDir,
    logPath,
    memory: () => memoryOf(child.pid!),
    cpuMs: () => processCpuMs(child.pid!),
    stop: () => terminate(child, 20_000),
  };
}

export function memoryOf(pid: number): { peakMb: number; rssMb: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { peakMb: Math.round(kb('VmHWM') / 1024), rssMb: Math.round(kb('VmRSS') / 1024) };
  } catch {
    return { peakMb: 0, rssMb: 0 };
  }
}

/** Counts log events by name (after a case, to show deferrals and errors next to the figures). */
export function logCounts(logPath: string): Record<string, number> {
  const counts: Record<string, number> = {};
  let text = '';
  try {
    text = readFileSync(logPath, 'utf8');
  } catch {
    return counts;
  }
  for (const line of text.split('\n')) {
    if (!line) continue;
    let key = 'non-json';
    try {
      const j = JSON.parse(line) as { event?: string; level?: number; msg?: string; result?: string };
      key = j.event ?? 'other';
      if (j.result && (key === 'attempt' || key === 'recipient')) key += `:${j.result}`;
      if (j.level && j.level >= 40) key += `:${j.msg ?? ''}`;
    } catch {
      // not JSON: counted as such
    }
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
