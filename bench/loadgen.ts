/**
 * The benchmark's SMTP load generator, run as its own process so that its CPU is not counted
 * as the gateway's and its event loop does not share the gateway's. It sends exactly `count`
 * messages of `size` bytes over `connections` parallel sessions, `perConnection` messages per
 * session (1 = one message per connection, like smtp-source without -d), one command at a
 * time (no PIPELINING), and measures for each message the time from writing the end-of-data
 * dot to reading the final reply (RFC 5321 section 4.1.1.4: that reply says "queued").
 *
 * Input: one JSON argument (LoadSpec). Output on stdout, one JSON object per line:
 * {"event":"start","t":<epoch ms>} when the first connection opens, then
 * {"event":"done", ...LoadResult} at the end. A run never outlives `timeoutMs`.
 */
import net from 'node:net';

export interface LoadSpec {
  /** "host:port" targets; sessions are spread over them round-robin. */
  targets: string[];
  count: number;
  connections: number;
  perConnection: number;
  size: number;
  from: string;
  to: string;
  timeoutMs: number;
  /** Include every latency in the result (to merge the results of several generators). */
  raw?: boolean;
}

export interface LoadResult {
  sent: number;
  /** Messages whose final reply was not 2xx (first few replies in `errors`). */
  refused: number;
  /** Sessions that broke (socket error, unexpected reply before DATA, time-out). */
  failedSessions: number;
  errors: string[];
  /** From the first connect to the last final reply, in ms. */
  elapsedMs: number;
  startedAt: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  timedOut: boolean;
  /** Every final-reply latency, sorted (only with spec.raw). */
  latencies?: number[];
}

/** Reads SMTP replies from a socket: resolves each complete (possibly multi-line) reply. */
class ReplyReader {
  private buf = '';
  private waiter: ((line: string) => void) | null = null;
  private queue: string[] = [];
  private failure: Error | null = null;
  private failWaiter: ((err: Error) => void) | null = null;

  constructor(socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => this.feed(d));
    const fail = (err: Error): void => {
      this.failure ??= err;
      this.failWaiter?.(this.failure);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  private feed(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      // "250-..." continues a multi-line reply; "250 ..." ends it (RFC 5321 section 4.2.1).
      if (line.length >= 4 && line[3] === '-') continue;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        this.failWaiter = null;
        w(line);
      } else {
        this.queue.push(line);
      }
    }
  }

  next(): Promise<string> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }
}

/** A message of about `size` bytes, CRLF lines of 76 characters, no line starting with a dot. */
export function makeMessage(spec: Pick<LoadSpec, 'from' | 'to' | 'size'>, n: number): Buffer {
  const head =
    `From: Bench <${spec.from}>\r\nTo: <${spec.to}>\r\nSubject: bench message ${n}\r\n` +
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n` +
    `Message-ID: <bench.${process.pid}.${n}@example.test>\r\nMIME-Version: 1.0\r\n` +
    'Content-Type: text/plain; charset=us-ascii\r\n\r\n';
  const line = 'The quick brown fox jumps over the lazy dog, again and again, for the bench.\r\n';
  let body = '';
  while (head.length + body.length + line.length <= spec.size) body += line;
  const rest = spec.size - head.length - body.length;
  if (rest > 2) body += 'x'.repeat(rest - 2) + '\r\n';
  return Buffer.from(head + body, 'latin1');
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runLoad(spec: LoadSpec, onStart: (t: number) => void = () => {}): Promise<LoadResult> {
  let next = 0;
  let sent = 0;
  let refused = 0;
  let failedSessions = 0;
  let timedOut = false;
  const errors: string[] = [];
  const latencies: number[] = [];
  const bodies = new Map<number, Buffer>();
  // Messages differ only in their numbers; build each once per size.
  const bodyOf = (n: number): Buffer => bodies.get(n % 64) ?? bodies.set(n % 64, makeMessage(spec, n % 64)).get(n % 64)!;
  const sockets = new Set<net.Socket>();
  let startedAt = 0;
  let lastReplyAt = 0;
  const note = (e: string): void => {
    if (errors.length < 10) errors.push(e);
  };

  const deadline = setTimeout(() => {
    timedOut = true;
    for (const s of sockets) s.destroy();
  }, spec.timeoutMs);

  const expect = async (r: ReplyReader, code: string, what: string): Promise<void> => {
    const line = await r.next();
    if (!line.startsWith(code)) throw new Error(`${what}: ${line}`);
  };

  const session = async (target: string): Promise<void> => {
    const i = target.lastIndexOf(':');
    const socket = net.connect({ host: target.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(target.slice(i + 1)) });
    socket.setNoDelay(true);
    sockets.add(socket);
    const r = new ReplyReader(socket);
    try {
      await expect(r, '220', 'greeting');
      socket.write('EHLO loadgen.example.test\r\n');
      await expect(r, '250', 'EHLO');
      for (let k = 0; k < spec.perConnection && next < spec.count && !timedOut; k++) {
        const n = next++;
        socket.write(`MAIL FROM:<${spec.from}>\r\n`);
        await expect(r, '250', 'MAIL');
        socket.write(`RCPT TO:<${spec.to}>\r\n`);
        await expect(r, '250', 'RCPT');
        socket.write('DATA\r\n');
        await expect(r, '354', 'DATA');
        socket.write(bodyOf(n));
        const t0 = performance.now();
        socket.write('.\r\n');
        const line = await r.next();
        const dt = performance.now() - t0;
        lastReplyAt = performance.now();
        if (line.startsWith('2')) {
          sent++;
          latencies.push(dt);
        } else {
          refused++;
          note(`final reply: ${line}`);
        }
      }
      socket.write('QUIT\r\n');
      await r.next().catch(() => '');
    } catch (err) {
      if (!timedOut) {
        failedSessions++;
        note((err as Error).message);
      }
    } finally {
      socket.destroy();
      sockets.delete(socket);
    }
  };

  const t0 = performance.now();
  startedAt = Date.now();
  onStart(startedAt);
  const worker = async (w: number): Promise<void> => {
    const target = spec.targets[w % spec.targets.length]!;
    // A broken session's messages are not retried (the count is exact); a worker stops after
    // too many broken sessions in a row so that a dead target cannot spin the loop.
    let broken = 0;
    while (next < spec.count && !timedOut && broken < 20) {
      const before = failedSessions;
      await session(target);
      broken = failedSessions > before ? broken + 1 : 0;
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, (_, w) => worker(w)));
  clearTimeout(deadline);
  latencies.sort((a, b) => a - b);
  const mean = latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length);
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    sent,
    refused,
    failedSessions,
    errors,
    elapsedMs: round((lastReplyAt || performance.now()) - t0),
    startedAt,
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies.at(-1) ?? 0),
      mean: round(mean),
    },
    timedOut,
    ...(spec.raw ? { latencies: latencies.map(round) } : {}),
  };
}

// Run as a process: node dist/bench/loadgen.js '<LoadSpec JSON>'.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/.*[\\/]/, '/'))) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  const result = await runLoad(spec, (t) => process.stdout.write(JSON.stringify({ event: 'start', t }) + '\n'));
  process.stdout.write(JSON.stringify({ event: 'done', ...result }) + '\n');
  process.exit(0);
}
