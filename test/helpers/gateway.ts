/**
 * Starts the real gateway (`node bin/outpost.js serve`) for a test: a fresh temp dir with a
 * config file and the data dir, free ports for every listener, the test DNS, and the JSON log
 * lines collected as they come. The test's own TOML is deep-merged over the base config.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { TEST_DNS } from './dns.js';
import { freePort } from './ports.js';
import { childEnv, exited, REPO_ROOT, terminate, trackChild, trackTempDir } from './procs.js';

/** The CLI; OUTPOST_TEST_BIN replaces it (only for testing this helper with a stand-in). */
export const OUTPOST_BIN = process.env.OUTPOST_TEST_BIN ?? path.join(REPO_ROOT, 'bin', 'outpost.js');

export interface GatewayOptions {
  /** Raw TOML deep-merged over the base config (tables merge, arrays and values replace). */
  toml?: string;
  /** Extra environment for the gateway process (and for cli()). */
  env?: Record<string, string>;
  /** Reuse this data dir (e.g. a stopped gateway's) instead of a fresh one. */
  dataDir?: string;
  /** How long to wait for all listeners (default 30000 ms). */
  timeout?: number;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Gateway {
  submissionPort: number;
  submissionsPort: number;
  webPort: number;
  host: '127.0.0.1';
  dataDir: string;
  configPath: string;
  /** The config as written (after the merge). */
  config: Record<string, unknown>;
  /** Every stdout line, parsed as JSON (a line that is not JSON is kept as { raw }). */
  logs: any[];
  /** Everything the gateway wrote on stderr so far. */
  readonly stderr: string;
  proc: ChildProcess;
  /** Runs `node bin/outpost.js <args> --config <configPath>`. */
  cli(args: string[], input?: string): Promise<CliResult>;
  /** Resolves with the first log line (already seen or coming) that matches. */
  waitForLog(match: (line: any) => boolean, opts?: { timeout?: number; what?: string }): Promise<any>;
  /** SIGTERM and wait for the exit (SIGKILL after 15 s); resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash) and wait for the exit. */
  kill(): Promise<void>;
  /** Stops this gateway if it runs and starts a new one on the same config and data. */
  restart(): Promise<Gateway>;
}

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** `over` wins; tables merge key by key, anything else (arrays too) is replaced. */
export function deepMerge(base: Table, over: Table): Table {
  const out: Table = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isTable(b) && isTable(v) ? deepMerge(b, v) : v;
  }
  return out;
}

async function baseConfig(dataDir: string): Promise<Table> {
  const [sub, subs, web] = await Promise.all([freePort(), freePort(), freePort()]);
  return {
    hostname: 'outpost.example.test',
    data_dir: dataDir,
    smtp: { submission: [`127.0.0.1:${sub}`], submissions: [`127.0.0.1:${subs}`] },
    web: { listen: [`127.0.0.1:${web}`] },
    dns: { servers: [TEST_DNS] },
  };
}

function listenerCount(cfg: Table): number {
  const get = (t: string, k: string): unknown[] => {
    const v = isTable(cfg[t]) ? (cfg[t] as Table)[k] : undefined;
    return Array.isArray(v) ? v : [];
  };
  return get('smtp', 'submission').length + get('smtp', 'submissions').length + get('web', 'listen').length;
}

function withConfigArg(args: string[], configPath: string): string[] {
  const i = args.indexOf('--');
  return i < 0 ? [...args, '--config', configPath] : [...args.slice(0, i), '--config', configPath, ...args.slice(i)];
}

export async function startGateway(opts: GatewayOptions = {}): Promise<Gateway> {
  // Ports are free when chosen but a parallel test may take one before the gateway binds.
  for (let attempt = 1; ; attempt++) {
    const dir = trackTempDir(mkdtempSync(path.join(os.tmpdir(), 'outpost-test-')));
    const dataDir = opts.dataDir ?? path.join(dir, 'data');
    const testToml = opts.toml ? (parseToml(opts.toml) as Table) : {};
    const config = deepMerge(await baseConfig(dataDir), testToml);
    const configPath = path.join(dir, 'outpost.toml');
    writeFileSync(configPath, stringifyToml(config) + '\n');
    try {
      return await launch(configPath, config, opts);
    } catch (err) {
      if (attempt < 3 && /EADDRINUSE/.test((err as Error).message)) continue;
      throw err;
    }
  }
}

async function launch(configPath: string, config: Table, opts: GatewayOptions): Promise<Gateway> {
  const env = childEnv(opts.env);
  const proc = trackChild(
    spawn(process.execPath, [OUTPOST_BIN, ...withConfigArg(['serve'], configPath)], {
      cwd: path.dirname(configPath),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const logs: any[] = [];
  let stderr = '';
  const listeners = new Set<(line: any) => void>();
  let pending = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!text.trim()) continue;
      let line: any;
      try {
        line = JSON.parse(text);
      } catch {
        line = { raw: text };
      }
      logs.push(line);
      for (const l of listeners) l(line);
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });

  const waitForLog = (match: (line: any) => boolean, o: { timeout?: number; what?: string } = {}): Promise<any> => {
    const seen = logs.find((l) => match(l));
    if (seen !== undefined) return Promise.resolve(seen);
    const timeout = o.timeout ?? 10_000;
    return new Promise((resolve, reject) => {
      const onLine = (line: any): void => {
        if (!match(line)) return;
        done();
        resolve(line);
      };
      const onExit = (): void => {
        done();
        reject(new Error(`gateway exited while waiting for ${o.what ?? 'a log line'}; stderr:\n${stderr}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeout} ms waiting for ${o.what ?? 'a log line'}`));
      }, timeout);
      const done = (): void => {
        clearTimeout(timer);
        listeners.delete(onLine);
        proc.off('exit', onExit);
      };
      listeners.add(onLine);
      proc.once('exit', onExit);
    });
  };

  const expected = listenerCount(config);
  const listens = (): any[] => logs.filter((l) => l && l.event === 'listen');
  try {
    await waitForLog(() => listens().length >= expected, {
      timeout: opts.timeout ?? 30_000,
      what: `${expected} "listen" log lines`,
    });
  } catch (err) {
    await terminate(proc, 2000);
    const got = listens().map((l) => `${l.kind} ${l.address}`).join(', ') || 'none';
    throw new Error(`${(err as Error).message} (got: ${got})\nstderr:\n${stderr}\nstdout:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`);
  }

  const portOf = (kind: string): number => {
    const l = listens().find((x) => x.kind === kind);
    const m = l ? /:(\d+)$/.exec(String(l.address)) : null;
    return m ? Number(m[1]) : 0;
  };

  const gw: Gateway = {
    submissionPort: portOf('submission'),
    submissionsPort: portOf('submissions'),
    webPort: portOf('web'),
    host: '127.0.0.1',
    dataDir: String(config.data_dir),
    configPath,
    config,
    logs,
    get stderr() {
      return stderr;
    },
    proc,
    cli: (args, input) => runCli(withConfigArg(args, configPath), input, opts.env),
    waitForLog,
    stop: () => terminate(proc, 15_000),
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited(proc);
    },
    restart: async () => {
      await terminate(proc, 15_000);
      return launch(configPath, config, opts);
    },
  };
  return gw;
}

/** Runs the CLI (`node bin/outpost.js ...args`) to completion; `input` goes to its stdin. */
export function runCli(args: string[], input?: string, env?: Record<string, string>, timeout = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = trackChild(
      spawn(process.execPath, [OUTPOST_BIN, ...args], { env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] }),
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.on('error', () => {}); // the CLI may exit without reading its input
    child.stdin!.end(input ?? '');
  });
}
