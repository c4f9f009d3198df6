/**
 * ClamAV's daemon, asked through its INSTREAM command (clamd(8)): "zINSTREAM\0", then the
 * message in chunks of [uint32 big-endian length][bytes], then a zero-length chunk; clamd
 * answers one NUL-terminated line, "stream: OK" or "stream: <name> FOUND". clamd unpacks MIME
 * and archives (ZIP included) itself, so the whole message is sent as it is.
 *
 * The message is written in slices of the one Buffer, waiting for the socket to drain, so a
 * large message is never copied. An unreachable or slow daemon gives 451 4.7.1, unless the
 * operator chose scan.clamd.fail_open, in which case the message passes unscanned and a
 * warning is logged.
 */
import net from 'node:net';
import { maillog } from '../maillog/log.js';
import { replies } from '../reply/reply.js';
import type { ScanEnvelope, ScanVerdict, Scanner } from './scanner.js';

export interface ClamdOptions {
  /** "host:port", "[v6]:port" or a unix socket path. */
  address: string;
  timeoutMs: number;
  failOpen: boolean;
}

const CHUNK = 64 * 1024;

export type ClamdAnswer =
  | { kind: 'ok' }
  | { kind: 'found'; name: string }
  | { kind: 'error'; message: string };

export class ClamdScanner implements Scanner {
  readonly name = 'clamd';
  constructor(private readonly opts: ClamdOptions) {}

  get failOpen(): boolean {
    return this.opts.failOpen;
  }

  async scan(message: Buffer, envelope: ScanEnvelope): Promise<ScanVerdict> {
    let answer: ClamdAnswer;
    try {
      answer = await instream(this.opts.address, message, this.opts.timeoutMs);
    } catch (err) {
      answer = { kind: 'error', message: (err as Error).message };
    }
    if (answer.kind === 'ok') return { kind: 'clean' };
    if (answer.kind === 'found') {
      return { kind: 'reject', reason: 'malware', reply: replies.malware(answer.name), detail: answer.name };
    }
    maillog.scanFailed({ sid: envelope.sessionId }, this.name, {
      address: this.opts.address,
      error: answer.message,
      fail_open: this.opts.failOpen,
    });
    if (this.opts.failOpen) return { kind: 'clean' };
    return { kind: 'unavailable', reply: replies.scannerUnavailable(this.name), detail: answer.message };
  }
}

/** Where to connect: a path (starts with "/" or ".") is a unix socket. */
export function clamdTarget(address: string): net.NetConnectOpts {
  if (address.startsWith('/') || address.startsWith('.')) return { path: address };
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m) return { host: address, port: 3310 };
  return { host: m[1]!, port: Number(m[2]) };
}

/** Parses clamd's reply line. */
export function parseClamdReply(line: string): ClamdAnswer {
  const text = line.replace(/\0+$/, '').trim();
  if (/^stream: OK$/.test(text)) return { kind: 'ok' };
  const found = /^stream: (.+) FOUND$/.exec(text);
  if (found) return { kind: 'found', name: found[1]! };
  return { kind: 'error', message: text === '' ? 'no answer from clamd' : `clamd: ${text}` };
}

/** Sends one message with INSTREAM and reads the answer; rejects on network faults. */
export function instream(address: string, message: Buffer, timeoutMs: number): Promise<ClamdAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(clamdTarget(address));
    let reply = '';
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      // Over StreamMaxLength clamd answers with an error and closes while we still write:
      // the answer that arrived counts, not the broken pipe.
      if (reply !== '') resolve(parseClamdReply(reply));
      else if (err) reject(err);
      else resolve(parseClamdReply(reply));
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (d: Buffer) => {
      reply += d.toString('latin1');
      if (reply.includes('\0')) finish(null);
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error('clamd closed the connection without an answer')));
    socket.on('connect', () => {
      void send(socket, message).catch((err: Error) => finish(err));
    });
  });
}

async function send(socket: net.Socket, message: Buffer): Promise<void> {
  const write = (b: Buffer) =>
    socket.write(b) ? Promise.resolve() : new Promise<void>((resolve, reject) => {
      const onDrain = () => { socket.off('close', onClose); resolve(); };
      const onClose = () => { socket.off('drain', onDrain); reject(new Error('connection closed while sending')); };
      socket.once('drain', onDrain);
      socket.once('close', onClose);
    });
  await write(Buffer.from('zINSTREAM\0', 'latin1'));
  for (let off = 0; off < message.length; off += CHUNK) {
    if (socket.destroyed) return;
    const part = message.subarray(off, off + CHUNK);
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(part.length);
    socket.write(len);
    await write(part);
  }
  socket.write(Buffer.alloc(4));
}
