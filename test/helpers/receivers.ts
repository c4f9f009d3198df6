/**
 * Real receiving SMTP servers for tests, on a loopback address the test DNS points at:
 * - startSink: Postfix's smtp-sink (fast; counts, and dumps each message to a file);
 * - startRecorder: Python aiosmtpd with test/peers/recorder.py (per-recipient replies, DATA
 *   reply, and every accepted message kept byte for byte with its envelope).
 * Port 0 picks a free port (see `.port`). Everything is stopped when the test process exits.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, chmodSync, writeFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { childEnv, REPO_ROOT, terminate, trackChild, trackTempDir } from './procs.js';
import { waitFor } from './wait.js';

const SYSTEM_PYTHON = '/usr/bin/python3';
const RECORDER_PY = path.join(REPO_ROOT, 'test', 'peers', 'recorder.py');

function tempDir(prefix: string): string {
  const dir = trackTempDir(mkdtempSync(path.join(os.tmpdir(), prefix)));
  chmodSync(dir, 0o777); // smtp-sink drops to "nobody" before it writes dumps
  return dir;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------------------------- smtp-sink

export interface SinkDump {
  /** X-Mail-Args as smtp-sink saw it, e.g. "<a@example.test> BODY=8BITMIME". */
  mailArgs: string;
  /** One X-Rcpt-Args per RCPT. */
  rcptArgs: string[];
  helo: string;
  /** The message as received (smtp-sink writes LF line ends, not CRLF). */
  data: Buffer;
}

export interface Sink {
  addr: string;
  port: number;
  dir: string;
  proc: ChildProcess;
  /** Messages received so far (smtp-sink's own `-c` counter). */
  count(): Promise<number>;
  waitForCount(n: number, timeout?: number): Promise<void>;
  /** The received messages in arrival order (needs dumping on, the default). */
  messages(): Promise<Buffer[]>;
  dumps(): Promise<SinkDump[]>;
  stop(): Promise<void>;
}

export interface SinkOptions {
  /** Extra smtp-sink flags, e.g. ['-r', 'RCPT'] (4xx every RCPT), ['-f', 'DATA'], ['-w', '5']. */
  args?: string[];
  /** Dump each message to a file (default true). */
  dump?: boolean;
}

export async function startSink(addr: string, port: number, opts: SinkOptions = {}): Promise<Sink> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchSink(addr, port === 0 ? await freePort(addr) : port, opts);
    } catch (err) {
      if (port === 0 && attempt < 3 && /in use/i.test((err as Error).message)) continue;
      throw err;
    }
  }
}

async function launchSink(addr: string, port: number, opts: SinkOptions): Promise<Sink> {
  const dir = tempDir('outpost-sink-');
  const dumpDir = path.join(dir, 'dump');
  mkdirSync(dumpDir, { mode: 0o777 });
  chmodSync(dumpDir, 0o777);
  const endpoint = addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
  // -u is required as root (smtp-sink drops to that user after bind) and refused otherwise
  const args = process.getuid?.() === 0 ? ['-c', '-u', 'nobody'] : ['-c'];
  if (opts.dump !== false) args.push('-d', `${dumpDir}/%Y%m%d%H%M%S.`);
  args.push(...(opts.args ?? []), endpoint, '256');
  const proc = trackChild(spawn('/usr/sbin/smtp-sink', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  let exited = false;
  proc.once('exit', () => (exited = true));
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`smtp-sink on ${endpoint} exited: ${out.trim()}`);
      return canConnect(addr, port);
    }, { timeout: 10_000, interval: 30, what: `smtp-sink on ${endpoint}` });
  } catch (err) {
    await terminate(proc, 1000);
    throw new Error(`${(err as Error).message} ${out.trim()}`);
  }

  const count = async (): Promise<number> => {
    const all = [...out.matchAll(/mesg=(\d+)/g)];
    return all.length ? Number(all[all.length - 1]![1]) : 0;
  };
  const dumpFiles = async (): Promise<string[]> => {
    const names = await readdir(dumpDir);
    const withTime = await Promise.all(names.map(async (n) => ({ n, t: (await stat(path.join(dumpDir, n))).mtimeMs })));
    return withTime.sort((a, b) => a.t - b.t || a.n.localeCompare(b.n)).map((x) => path.join(dumpDir, x.n));
  };
  const dumps = async (): Promise<SinkDump[]> => Promise.all((await dumpFiles()).map(async (f) => parseDump(await readFile(f))));

  return {
    addr,
    port,
    dir,
    proc,
    count,
    waitForCount: (n, timeout = 10_000) =>
      waitFor(async () => (await count()) >= n, { timeout, what: `${n} messages at smtp-sink ${endpoint}` }),
    messages: async () => (await dumps()).map((d) => d.data),
    dumps,
    stop: async () => {
      await terminate(proc, 2000);
    },
  };
}

/** Splits smtp-sink's dump: its own X-* lines and a 3-line Received header, then the message. */
function parseDump(buf: Buffer): SinkDump {
  const text = buf.toString('latin1');
  const lines = text.split('\n');
  const dump: SinkDump = { mailArgs: '', rcptArgs: [], helo: '', data: Buffer.alloc(0) };
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('X-Mail-Args: ')) dump.mailArgs = line.slice(13);
    else if (line.startsWith('X-Rcpt-Args: ')) dump.rcptArgs.push(line.slice(13));
    else if (line.startsWith('X-Helo-Args: ')) dump.helo = line.slice(13);
    else if (line.startsWith('Received: ')) break;
  }
  i++;
  while (i < lines.length && /^[ \t]/.test(lines[i]!)) i++; // Received continuation lines
  let offset = 0;
  for (let k = 0; k < i; k++) offset += lines[k]!.length + 1;
  // smtp-sink appends one empty line after the message
  let end = buf.length;
  if (end - offset >= 1 && buf[end - 1] === 0x0a) end--;
  dump.data = buf.subarray(offset, Math.max(offset, end));
  return dump;
}

// ---------------------------------------------------------------------------------- recorder

export interface ReplyRule {
  /** Regular expression (case-insensitive) on the address (recipient; sender for mailRules). */
  match: string;
  code: number;
  /** Text after the code, e.g. "5.1.1 No such user"; default "<class>.0.0 ...". */
  text?: string;
  /** Apply only to the first N matches (e.g. 451 once, then accept). */
  times?: number;
}

export interface RecorderOptions {
  /** Replies to RCPT by recipient; the first matching rule wins; default 250. */
  rules?: ReplyRule[];
  /** Replies to MAIL FROM by sender. */
  mailRules?: ReplyRule[];
  /** Reply to the end of DATA (default 250 and the message is kept; non-2xx: not kept). */
  dataReply?: { code: number; text?: string; times?: number };
  /** Wait this long before answering the end of DATA. */
  dataDelayMs?: number;
  /** Advertise SMTPUTF8 (default true). */
  smtputf8?: boolean;
  /** Advertise 8BITMIME (default true). */
  eightbitmime?: boolean;
  /** Advertise DSN and accept RET/ENVID/NOTIFY/ORCPT (default true; false: 555 for them). */
  dsn?: boolean;
  /** Offer STARTTLS with a self-signed certificate (default false). */
  tls?: boolean;
  /** With tls: refuse mail before STARTTLS. */
  requireTls?: boolean;
  /** The name in the greeting and EHLO reply (default recorder.example.test). */
  hostname?: string;
}

export interface RecordedMessage {
  from: string;
  to: string[];
  /** Bytes exactly as received after dot-unstuffing (CRLF line ends). */
  data: Buffer;
  /** MAIL FROM parameters as sent (case kept), e.g. ['BODY=8BITMIME', 'SMTPUTF8']. */
  mailOptions: string[];
  /** All RCPT parameters of the accepted recipients, in order, case kept. */
  rcptOptions: string[];
  /** The accepted recipients with their own parameters. */
  rcpts: Array<{ address: string; options: string[] }>;
  helo: string;
  /** Whether the message came over STARTTLS. */
  tls: boolean;
  /** Number of the TCP connection it came on (1, 2, ... per recorder). */
  conn: number;
}

/** One line of events.jsonl: connect, ehlo, helo, starttls, mail, rcpt, data, quit. */
export interface RecorderEvent {
  ev: string;
  conn: number;
  address?: string;
  options?: string[];
  reply?: string;
  helo?: string;
  tls?: boolean;
  size?: number;
  [k: string]: unknown;
}

export interface Recorder {
  addr: string;
  port: number;
  dir: string;
  proc: ChildProcess;
  messages(): Promise<RecordedMessage[]>;
  waitForMessages(n: number, timeout?: number): Promise<RecordedMessage[]>;
  events(): Promise<RecorderEvent[]>;
  stop(): Promise<void>;
}

let certPromise: Promise<{ cert: string; key: string }> | undefined;

/** A self-signed certificate + key (PEM file paths), made once per test process. */
export function testCert(): Promise<{ cert: string; key: string }> {
  certPromise ??= (async () => {
    const dir = tempDir('outpost-cert-');
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-keyout', key, '-out', cert,
      '-subj', '/CN=recorder.example.test', '-addext', 'subjectAltName=DNS:*.example.test,DNS:*.example.net,IP:127.0.0.1',
    ]);
    return { cert, key };
  })();
  return certPromise;
}

export async function startRecorder(addr: string, port: number, opts: RecorderOptions = {}): Promise<Recorder> {
  if (!existsSync(SYSTEM_PYTHON)) throw new Error(`${SYSTEM_PYTHON} missing (Debian python3 with python3-aiosmtpd)`);
  const dir = tempDir('outpost-recorder-');
  const msgDir = path.join(dir, 'messages');
  const cfg = {
    host: addr,
    port,
    dir: msgDir,
    rules: opts.rules ?? [],
    mail_rules: opts.mailRules ?? [],
    data_reply: opts.dataReply ?? null,
    data_delay_ms: opts.dataDelayMs ?? 0,
    smtputf8: opts.smtputf8 !== false,
    eightbitmime: opts.eightbitmime !== false,
    dsn: opts.dsn !== false,
    tls: opts.tls ? await testCert() : null,
    require_tls: opts.requireTls === true,
    hostname: opts.hostname ?? 'recorder.example.test',
  };
  const cfgPath = path.join(dir, 'recorder.json');
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const proc = trackChild(
    spawn(SYSTEM_PYTHON, [RECORDER_PY, cfgPath], { env: childEnv({ PYTHONUNBUFFERED: '1' }), stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  let gone = false;
  proc.once('exit', () => (gone = true));
  try {
    await waitFor(() => {
      if (gone) throw new Error('exited');
      return /READY \d+/.test(out);
    }, { timeout: 15_000, interval: 20, what: `recorder on ${addr}:${port}` });
  } catch (e) {
    await terminate(proc, 1000);
    throw new Error(`recorder on ${addr}:${port} did not start: ${(e as Error).message}\n${err}`);
  }
  const realPort = Number(/READY (\d+)/.exec(out)![1]);

  const messages = async (): Promise<RecordedMessage[]> => {
    const names = (await readdir(msgDir)).filter((n) => n.endsWith('.json')).sort();
    return Promise.all(
      names.map(async (n) => {
        const meta = JSON.parse(await readFile(path.join(msgDir, n), 'utf8'));
        const rcpts: Array<{ address: string; options: string[] }> = meta.rcpts;
        return {
          from: meta.from,
          to: meta.to,
          data: await readFile(path.join(msgDir, n.replace(/\.json$/, '.eml'))),
          mailOptions: meta.mail_options,
          rcptOptions: rcpts.flatMap((r) => r.options),
          rcpts,
          helo: meta.helo,
          tls: meta.tls,
          conn: meta.conn,
        };
      }),
    );
  };
  return {
    addr,
    port: realPort,
    dir: msgDir,
    proc,
    messages,
    waitForMessages: async (n, timeout = 10_000) => {
      let got: RecordedMessage[] = [];
      await waitFor(async () => (got = await messages()).length >= n, {
        timeout,
        what: `${n} messages at the recorder on ${addr}:${realPort}`,
      });
      return got;
    },
    events: async () => {
      const text = await readFile(path.join(msgDir, 'events.jsonl'), 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as RecorderEvent);
    },
    stop: async () => {
      await terminate(proc, 2000);
    },
  };
}
