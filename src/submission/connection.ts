/**
 * smtp-server's connection, adjusted where the gateway's protocol rules differ from the
 * library's defaults. The library keeps the state machine, the parser and STARTTLS (it
 * retires its parser at STARTTLS, so commands pipelined behind it in the same packet are
 * dropped, RFC 3207 section 4.2); this subclass only changes:
 *
 * - replies: a reply text that starts with an enhanced code (every reply of ours, see
 *   ReplyError) is sent as is; the library's own replies get their codes mapped to ours
 *   where it picks a wrong one (538 5.7.11, 552 5.3.4, 421 4.3.2) and are logged;
 * - command lines longer than 512 octets (RFC 5321 section 4.5.3.1.4) get 500 5.5.2 and
 *   the session goes on (the library would close it, and only at 16 KB);
 * - AUTH before TLS gets 538 5.7.11 (RFC 4954 section 4), and a response that is not
 *   base64 aborts the exchange with 501 5.5.2 (RFC 4954 section 4);
 * - every 4xx/5xx reply counts as an error; after smtp.max_errors of them without a
 *   message accepted in between (like Postfix's smtpd_hard_error_limit), the next command
 *   gets 421 4.7.0 and the connection ends;
 * - addresses keep the form the client wrote: the library turns "xn--" domains into
 *   Unicode, which would make an ASCII message look like SMTPUTF8.
 */
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { maillog } from '../maillog/log.js';
import { replies, type EnhancedCode, type Reply } from '../reply/reply.js';

/** What the subclass needs from the server that created it. */
export interface ConnectionLimits {
  maxErrors: number;
  maxMessageSize: number;
  /** A RCPT address the library refused for its syntax (501), for the sender restrictions. */
  onBadRecipient?: (session: SMTPConnection['session']) => void;
}

/** RFC 5321 section 4.5.3.1.4: 512 octets including CRLF. */
const MAX_COMMAND = 510;
/** RFC 4954 section 4: SASL responses may be up to 12288 octets. */
const MAX_SASL_RESPONSE = 12_288;

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Library replies whose code or text we give differently. */
function translate(code: number, text: string, maxSize: number): Reply | null {
  if (code === 538) return replies.encryptionRequired;
  if (code === 552) return replies.tooBig(maxSize);
  if (code === 421 && /shutting down/i.test(text)) return replies.shuttingDown;
  return null;
}

export class OutpostConnection extends SMTPConnection {
  /** Error replies since the last accepted message. */
  errors = 0;

  constructor(
    server: ConstructorParameters<typeof SMTPConnection>[0],
    socket: ConstructorParameters<typeof SMTPConnection>[1],
    options: ConstructorParameters<typeof SMTPConnection>[2],
    private readonly limits: ConnectionLimits,
  ) {
    super(server, socket, options);
  }

  /** Sends one of our replies (with its enhanced code, as formatted by formatReply). */
  sendReply(r: Reply): void {
    this.send(r.code, `${r.enhanced} ${r.text}`);
  }

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    if (typeof data === 'string' && code >= 400) {
      const ours = ENHANCED.test(data);
      const mapped = ours ? null : translate(code, data, this.limits.maxMessageSize);
      if (mapped) {
        code = mapped.code;
        data = `${mapped.enhanced} ${mapped.text}`;
      }
      if (!ours) {
        // Replies of ours were logged where they were decided; the library's are logged here.
        const enhanced = (this._getEnhancedStatusCode(code, context) ||
          `${Math.floor(code / 100)}.0.0`) as EnhancedCode;
        maillog.refused({ sid: this.id }, 'protocol', mapped ?? { code, enhanced, text: data }, {
          ip: this.remoteAddress,
          library: true,
        });
      }
      if (code !== 421) this.errors++;
    }
    // A message accepted: the client is doing its job, earlier mistakes are forgiven.
    if (code === 250 && context === 'DATA_OK') this.errors = 0;
    if (typeof data === 'string' && ENHANCED.test(data)) context = false;
    super.send(code, data, context);
  }

  override _onCommand(command: Buffer, callback?: () => void): void {
    // States the library handles before looking at the command: TLS handshake in flight
    // (discard), shutting down, greeting not sent yet.
    if (this._upgrading || this._server._closeTimeout || !this._ready) {
      return super._onCommand(command, callback);
    }
    const next = callback ?? (() => undefined);
    const done = (): void => {
      setImmediate(() => this._whenWritable(next));
    };

    if (this.errors >= this.limits.maxErrors) {
      maillog.refused({ sid: this.id }, 'protocol', replies.tooManyErrors, {
        ip: this.remoteAddress,
        errors: this.errors,
      });
      this.sendReply(replies.tooManyErrors);
      return;
    }

    const saslStep = this._nextHandler !== false;
    if (command.length > (saslStep ? MAX_SASL_RESPONSE : MAX_COMMAND)) {
      this._nextHandler = false;
      this.refuse('command', replies.commandTooLong, { length: command.length });
      return done();
    }

    if (saslStep) {
      const line = command.toString('latin1').trim();
      if (line !== '*' && !BASE64.test(line)) {
        this._nextHandler = false;
        this.refuse('auth', replies.badBase64);
        return done();
      }
      return super._onCommand(command, callback);
    }

    const words = command.toString('latin1').trim().split(/\s+/);
    if (words[0]?.toUpperCase() === 'AUTH' && this.hostNameAppearsAs) {
      if (!this.secure) {
        this.refuse('auth', replies.encryptionRequired);
        return done();
      }
      const initial = words[2];
      if (initial !== undefined && initial !== '=' && !BASE64.test(initial)) {
        this.refuse('auth', replies.badBase64);
        return done();
      }
    }
    return super._onCommand(command, callback);
  }

  override _parseAddressCommand(
    rawName: string,
    rawCommand: Buffer | string,
  ): ReturnType<SMTPConnection['_parseAddressCommand']> {
    const parsed = super._parseAddressCommand(rawName, rawCommand);
    if (!(parsed && parsed.address) && /^rcpt to$/i.test(rawName.trim()) && this.session?.envelope?.mailFrom) {
      this.limits.onBadRecipient?.(this.session);
    }
    if (parsed && parsed.address && !parsed.address.includes('[')) {
      const written = /<([^<>]*)>/.exec(rawCommand.toString())?.[1]
        ?.replace(/^@[^\s,:@]+(?:,@[^\s,:@]+)*:/, '');
      if (written && /^[\x21-\x7e]+$/.test(written)) parsed.address = written;
    }
    return parsed;
  }

  private refuse(stage: string, r: Reply, extra: Record<string, unknown> = {}): void {
    maillog.refused({ sid: this.id }, stage, r, { ip: this.remoteAddress, ...extra });
    this.sendReply(r);
  }
}
