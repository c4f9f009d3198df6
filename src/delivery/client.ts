/**
 * The SMTP client side of delivery: one session with one remote address, built on nodemailer's
 * SMTPConnection (EHLO with HELO fallback, STARTTLS, PIPELINING, SIZE, 8BITMIME, multi-line
 * replies, dot-stuffing). A session sends any number of messages; each send returns an
 * outcome per recipient and never throws for a remote problem.
 *
 * What is added here on top of the library:
 * - per-recipient DSN parameters (NOTIFY, ORCPT) on each RCPT, and SMTPUTF8 on MAIL whenever
 *   the message needs it, not only for non-ASCII addresses (RFC 6531 3.4);
 * - RFC 5321 4.5.3.2 time-outs: the command time-out while waiting for a reply to a command,
 *   the data time-out from DATA until the reply to the final dot;
 * - a STARTTLS handshake that fails is retried once in plaintext (opportunistic TLS only:
 *   the remote's certificate is not checked, so encryption is never worse than plaintext);
 * - a connection lost after the whole message went out is reported as such, since only
 *   there the remote may have the message already (a duplicate is possible).
 *
 * Limits: 8-bit messages go to servers without 8BITMIME as they are (no conversion to 7bit).
 */
import type net from 'node:net';
import { isIP } from 'node:net';
import type { Transform } from 'node:stream';
import { domainToASCII } from 'node:url';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Notify } from '../store/store.js';
import { kindOf, localReply, parseReply, type RecipientOutcome, type RemoteReply } from './outcome.js';
import type { Target } from './route.js';

export interface ClientOptions {
  /** EHLO name. */
  hostname: string;
  tls: 'opportunistic' | 'none';
  connectTimeout: number;
  greetingTimeout: number;
  commandTimeout: number;
  dataTimeout: number;
}

export interface OutgoingRecipient {
  address: string;
  notify: Notify;
  /** Decoded ORCPT, "rfc822;ann@example.net". */
  orcpt: string | null;
}

export interface OutgoingMessage {
  /** '' for the null reverse-path. */
  sender: string;
  recipients: OutgoingRecipient[];
  body: Buffer;
  envid: string | null;
  ret: 'FULL' | 'HDRS' | null;
  smtputf8: boolean;
  eightBit: boolean;
}

export interface Capabilities {
  /** SIZE limit announced by the server; 0 when none. */
  size: number;
  smtputf8: boolean;
  dsn: boolean;
  eightBitMime: boolean;
  pipelining: boolean;
}

export type OpenResult = { ok: true; session: SmtpSession } | { ok: false; reply: RemoteReply };

/** The parts of SMTPConnection this file uses that its type declarations leave out. */
interface ConnInternals {
  _supportedExtensions: string[];
  _maxAllowedSize: number;
  _socket: net.Socket | false | null;
  _envelope: false | { accepted: string[]; rejectedErrors: Array<NodeError & { recipient?: string }> };
  _sendCommand(str: string, logStr?: string): void;
  _createSendStream(cb: unknown): Transform;
}

interface NodeError extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  rejectedErrors?: Array<NodeError & { recipient?: string }>;
}

/** Opens a session to one address: connect, greeting, EHLO, STARTTLS when offered. */
export async function openSession(target: Target, opts: ClientOptions): Promise<OpenResult> {
  const first = await connectOnce(target, opts, opts.tls === 'opportunistic');
  if (first.ok || !('tlsFailed' in first) || !first.tlsFailed) return first;
  // The server offered STARTTLS but the handshake failed: go on without TLS, as the remote
  // would get the message in plaintext from a client that does not try TLS at all.
  return connectOnce(target, opts, false);
}

type ConnectResult = OpenResult | { ok: false; reply: RemoteReply; tlsFailed: boolean };

function connectOnce(target: Target, opts: ClientOptions, tryTls: boolean): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const conn = new SMTPConnection({
      host: target.ip,
      port: target.port,
      name: opts.hostname,
      servername: isIP(target.mx) ? undefined : target.mx,
      secure: false,
      ignoreTLS: !tryTls,
      opportunisticTLS: true,
      tls: { rejectUnauthorized: false },
      connectionTimeout: opts.connectTimeout,
      greetingTimeout: opts.greetingTimeout,
      socketTimeout: opts.commandTimeout,
      socketCloseTimeout: 1000,
      logger: false,
    });
    let settled = false;
    const session = new SmtpSession(conn, target, opts);
    const fail = (e: NodeError): void => {
      if (settled) return;
      settled = true;
      conn.close();
      // Anything that goes wrong between STARTTLS and the new EHLO is the TLS handshake.
      const tlsFailed = e.code === 'ETLS' || session.commandSent === 'STARTTLS' ||
        /^ERR_SSL/.test((e as NodeError & { originalCode?: string }).originalCode ?? '');
      resolve({ ok: false, reply: connectFailure(e, target, session.commandSent), tlsFailed });
    };
    // Until the session is up, the library reports failures as 'error' events (or a bare
    // 'end'); afterwards they reach the send callback, and this listener keeps it quiet.
    conn.on('error', (err: Error) => fail(err as NodeError));
    conn.once('end', () => fail(Object.assign(new Error('Connection closed before the session started'), { code: 'ECONNECTION' })));
    conn.connect((err) => {
      if (err) return fail(err as NodeError);
      if (settled) return;
      settled = true;
      session.tls = conn.secure;
      resolve({ ok: true, session });
    });
  });
}

export class SmtpSession {
  tls = false;
  /** Messages sent over this session (successful or not). */
  messages = 0;
  private alive = true;
  /** A transaction ended by something other than the server's own replies: not reused. */
  private broken = false;
  private current: { message: OutgoingMessage; params: Map<string, string> } | null = null;
  private dataSent = false;
  private lastCommand = '';
  private readonly internals: ConnInternals;

  constructor(
    private readonly conn: SMTPConnection,
    readonly target: Target,
    private readonly opts: ClientOptions,
  ) {
    this.internals = conn as unknown as ConnInternals;
    conn.once('end', () => (this.alive = false));
    this.hookCommands();
  }

  /** The last command sent ('' before the first), for messages about time-outs. */
  get commandSent(): string {
    return this.lastCommand;
  }

  get usable(): boolean {
    return this.alive && !this.broken && !this.conn.destroyed;
  }

  capabilities(): Capabilities {
    const ext = this.internals._supportedExtensions ?? [];
    return {
      size: this.internals._maxAllowedSize || 0,
      smtputf8: ext.includes('SMTPUTF8'),
      dsn: ext.includes('DSN'),
      eightBitMime: ext.includes('8BITMIME'),
      pipelining: ext.includes('PIPELINING'),
    };
  }

  /** Sends one message; an outcome for every recipient, in the order given. */
  send(message: OutgoingMessage): Promise<RecipientOutcome[]> {
    this.messages++;
    const wire = message.recipients.map((r) => wireAddress(r.address));
    const params = new Map<string, string>();
    const dsn = this.capabilities().dsn;
    message.recipients.forEach((r, i) => params.set(wire[i]!.toLowerCase(), dsn ? rcptParams(r) : ''));
    this.current = { message, params };
    this.dataSent = false;

    return new Promise((resolve) => {
      const envelope = {
        from: wireAddress(message.sender),
        to: wire,
        size: message.body.length,
        use8BitMime: message.eightBit,
        dsn: message.ret || message.envid ? { ret: message.ret, envid: message.envid } : undefined,
      };
      this.conn.send(envelope, message.body, (err, info) => {
        this.current = null;
        const byWire = new Map<string, RemoteReply>();
        if (err) {
          const e = err as NodeError;
          // Well-formed refusals (EENVELOPE, EMESSAGE) leave the session in step; nothing else does.
          const inStep = (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') && (!e.response || parseReply(e.response));
          if (!inStep) this.broken = true;
          for (const rej of e.rejectedErrors ?? this.rejectedSoFar()) {
            if (rej.recipient) byWire.set(rej.recipient.toLowerCase(), this.replyOf(rej));
          }
          const rest = this.failureReply(e);
          resolve(wire.map((w, i) => this.outcome(message.recipients[i]!.address, byWire.get(w.toLowerCase()) ?? rest)));
          return;
        }
        for (const rej of info.rejectedErrors ?? []) {
          const r = rej as NodeError & { recipient?: string };
          if (r.recipient) byWire.set(r.recipient.toLowerCase(), this.replyOf(r));
        }
        const ok = parseReply(info.response) ?? localReply(250, '2.0.0', info.response);
        resolve(wire.map((w, i) => this.outcome(message.recipients[i]!.address, byWire.get(w.toLowerCase()) ?? ok)));
      });
    });
  }

  /** RSET before the next message on a reused connection; false when the session is gone. */
  reset(): Promise<boolean> {
    if (!this.usable) return Promise.resolve(false);
    return new Promise((resolve) => this.conn.reset((err) => resolve(!err && this.usable)));
  }

  /** QUIT when the session is still good, else just close the socket. */
  close(): void {
    this.alive = false;
    if (!this.conn.destroyed) {
      try {
        this.conn.quit();
      } catch {
        this.conn.close();
      }
      // A server that never answers QUIT must not keep the socket around.
      setTimeout(() => this.conn.close(), 2000).unref();
    }
  }

  private outcome(address: string, reply: RemoteReply): RecipientOutcome {
    return { address, kind: kindOf(reply), reply, mx: this.target.mx, ip: this.target.ip, tls: this.tls };
  }

  private rejectedSoFar(): Array<NodeError & { recipient?: string }> {
    const env = this.internals._envelope;
    return env ? env.rejectedErrors : [];
  }

  private replyOf(e: NodeError): RemoteReply {
    return (e.response && parseReply(e.response)) || this.failureReply(e);
  }

  /** The reply for every recipient the server gave no answer of its own. */
  private failureReply(e: NodeError): RemoteReply {
    const parsed = e.response ? parseReply(e.response) : null;
    if (parsed) return parsed;
    const where = `${this.target.mx}[${this.target.ip}]`;
    if (e.code === 'ETIMEDOUT') {
      const phase = this.dataSent ? 'end of data' : this.lastCommand || 'reply';
      return localReply(451, '4.4.2', `Timed out waiting for the reply to ${phase} from ${where}`);
    }
    if (e.code === 'EPROTOCOL' || (e.response !== undefined && !parsed)) {
      const got = (e.response ?? '').slice(0, 120).replace(/[^\x20-\x7e]/g, '?');
      return localReply(451, '4.5.0', `Protocol error: unexpected reply from ${where}${got ? `: "${got}"` : ''}`);
    }
    if (this.dataSent) {
      return localReply(451, '4.4.2',
        `Lost connection with ${where} after the end of data; the message may have been delivered (a duplicate is possible)`);
    }
    return localReply(451, '4.4.2', `Lost connection with ${where} during ${this.lastCommand || 'the session'}: ${e.message}`);
  }

  /**
   * Wraps the library's command writer: it sets the time-out for the reply that command
   * waits for, and adds the parameters the library has no per-recipient form for.
   */
  private hookCommands(): void {
    const internals = this.internals;
    const send = internals._sendCommand.bind(this.conn);
    internals._sendCommand = (str: string, logStr?: string) => {
      const verb = /^[A-Za-z]+(?: [A-Za-z]+:)?/.exec(str)?.[0]?.toUpperCase() ?? '';
      this.lastCommand = verb;
      const socket = internals._socket;
      if (socket && !socket.destroyed) {
        socket.setTimeout(verb === 'DATA' ? this.opts.dataTimeout : this.opts.commandTimeout);
      }
      send(this.rewrite(str, verb), logStr);
    };
    const createStream = internals._createSendStream.bind(this.conn);
    internals._createSendStream = (cb: unknown) => {
      const stream = createStream(cb);
      this.lastCommand = 'DATA';
      stream.once('end', () => (this.dataSent = true));
      return stream;
    };
  }

  private rewrite(str: string, verb: string): string {
    const cur = this.current;
    if (!cur) return str;
    if (verb === 'MAIL FROM:' && cur.message.smtputf8 && this.capabilities().smtputf8 && !/ SMTPUTF8\b/.test(str)) {
      return `${str} SMTPUTF8`;
    }
    if (verb === 'RCPT TO:') {
      const addr = /^RCPT TO:<([^>]*)>/.exec(str)?.[1];
      const extra = addr !== undefined ? cur.params.get(addr.toLowerCase()) : undefined;
      if (extra) return `${str} ${extra}`;
    }
    return str;
  }
}

/** NOTIFY and ORCPT for one RCPT, xtext-encoded (RFC 3461 4). */
function rcptParams(r: OutgoingRecipient): string {
  const out: string[] = [];
  if (r.notify && r.notify.length > 0) out.push(`NOTIFY=${r.notify.join(',')}`);
  if (r.orcpt) {
    const semi = r.orcpt.indexOf(';');
    if (semi > 0) out.push(`ORCPT=${r.orcpt.slice(0, semi)};${xtext(r.orcpt.slice(semi + 1))}`);
  }
  return out.join(' ');
}

export function xtext(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b < 0x21 || b > 0x7e || b === 0x2b || b === 0x3d
      ? '+' + b.toString(16).toUpperCase().padStart(2, '0')
      : String.fromCharCode(b);
  }
  return out;
}

/**
 * The address as it goes on the wire: an internationalised domain as its A-label when the
 * local part is ASCII, so that such mail needs no SMTPUTF8 (RFC 6531 leaves a choice).
 */
export function wireAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (/^[\x00-\x7f]*$/.test(domain) || /[^\x00-\x7f]/.test(local)) return address;
  const ascii = domainToASCII(domain);
  return ascii ? `${local}@${ascii}` : address;
}

/** True when the address still needs SMTPUTF8 after wireAddress (a non-ASCII local part). */
export function needsUtf8(address: string): boolean {
  return /[^\x00-\x7f]/.test(wireAddress(address));
}

function connectFailure(e: NodeError, target: Target, lastCommand: string): RemoteReply {
  const where = `${target.mx}[${target.ip}]:${target.port}`;
  const parsed = e.response ? parseReply(e.response) : null;
  if (parsed) return parsed;
  const sys = (e as NodeError & { originalCode?: string }).originalCode ?? '';
  if (e.code === 'ETIMEDOUT') {
    const type = (e as NodeError & { timeoutType?: string }).timeoutType ?? e.message;
    const what = /GREETING/i.test(type) ? 'greeting' : /UPGRADE|TLS/i.test(type) ? 'TLS handshake'
      : /SOCKET/i.test(type) ? (lastCommand ? `reply to ${lastCommand}` : 'greeting') : 'connection';
    return localReply(451, '4.4.1', `Timed out waiting for the ${what} from ${where}`);
  }
  if (e.code === 'ETLS' || lastCommand === 'STARTTLS') {
    return localReply(451, '4.7.5', `TLS handshake with ${where} failed: ${e.message.split(':')[0]}`);
  }
  if (e.code === 'EPROTOCOL') {
    return localReply(451, '4.5.0', `Protocol error from ${where}: ${e.message.slice(0, 160).replace(/[^\x20-\x7e]/g, '?')}`);
  }
  if (sys === 'ECONNREFUSED') return localReply(451, '4.4.1', `Connection refused by ${where}`);
  if (sys === 'EHOSTUNREACH' || sys === 'ENETUNREACH') return localReply(451, '4.4.1', `No route to ${where}`);
  return localReply(451, '4.4.1', `Could not connect to ${where}: ${sys || e.code || ''} ${e.message}`.trim());
}
