/**
 * The SMTP submission listeners: `smtp.submission` (port 587 style, STARTTLS offered) and
 * `smtp.submissions` (port 465 style, implicit TLS, RFC 8314). Both run the same session
 * hooks; only the TLS start differs. TLS 1.2 is the oldest version accepted.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection.js';
import type { AppContext } from '../app.js';
import { parseHostPort } from '../config/schema.js';
import { resolverOf } from '../dns/resolver.js';
import { drainSubmissions } from '../intake/intake.js';
import { maillog } from '../maillog/log.js';
import { AuthThrottle } from '../policy/auth-throttle.js';
import { OutpostConnection, type ConnectionLimits } from './connection.js';
import { principalOf, sessionHooks, type ListenerKind } from './hooks.js';
import type { TlsMaterial } from './tls.js';

/** A listen address that could not be opened; serve reports it with the config key. */
export class ListenError extends Error {
  constructor(
    readonly key: string,
    readonly address: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** smtp-server with our connection subclass; the rest of the library is unchanged. */
class OutpostSmtpServer extends SMTPServer {
  constructor(options: SMTPServerOptions, private readonly limits: ConnectionLimits) {
    super(options);
  }

  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    const connection = new OutpostConnection(this, socket, socketOptions, this.limits);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => this._onClientConnect(data));
    connection.init();
  }
}

export interface SubmissionService {
  /** Where each listener accepts connections, e.g. "127.0.0.1:2587". */
  addresses: Array<{ kind: ListenerKind; address: string }>;
  /** Stops accepting, lets sessions finish for smtp.shutdown_grace, waits for queued writes. */
  stop(): Promise<void>;
}

function formatAddress(a: net.AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

export async function startSubmission(ctx: AppContext, tlsMaterial: TlsMaterial): Promise<SubmissionService> {
  const { cfg } = ctx;
  const throttle = new AuthThrottle(ctx.store, cfg.auth, ctx.now);
  const resolver = resolverOf(ctx);
  const limits: ConnectionLimits = {
    maxErrors: cfg.smtp.max_errors,
    maxMessageSize: cfg.smtp.max_message_size,
    onBadRecipient: (session) => {
      void ctx.restrictions?.onInvalidRecipient?.(principalOf(ctx, session), '')
        .catch((err: Error) => maillog.warn({ sid: session.id, error: err.message }, 'restriction bookkeeping failed'));
    },
  };
  const servers: SMTPServer[] = [];
  const addresses: SubmissionService['addresses'] = [];

  const listeners: Array<[ListenerKind, string[]]> = [
    ['submission', cfg.smtp.submission],
    ['submissions', cfg.smtp.submissions],
  ];
  for (const [kind, list] of listeners) {
    for (const where of list) {
      const server = new OutpostSmtpServer({
        name: cfg.hostname,
        banner: 'Outpost',
        secure: kind === 'submissions',
        key: tlsMaterial.key,
        cert: tlsMaterial.cert,
        minVersion: 'TLSv1.2',
        size: cfg.smtp.max_message_size,
        authMethods: ['PLAIN', 'LOGIN'],
        authOptional: true,
        allowInsecureAuth: false,
        hideENHANCEDSTATUSCODES: false,
        hideDSN: false,
        hideREQUIRETLS: true,
        hidePIPELINING: false,
        hide8BITMIME: false,
        hideSMTPUTF8: false,
        socketTimeout: cfg.smtp.idle_timeout,
        closeTimeout: cfg.smtp.shutdown_grace,
        logger: false,
        // Reverse names come from the configured DNS servers like every other lookup.
        resolver: {
          reverse: (ip, cb) =>
            void resolver.reverse(ip).then((names) => cb(null, names), (err: Error) => cb(err)),
        },
        ...sessionHooks(ctx, kind, throttle),
      }, limits);
      server.on('error', (err: NodeJS.ErrnoException) => {
        maillog.warn({ listener: kind, error: err.message, code: err.code }, 'SMTP connection error');
      });
      const hp = parseHostPort(where)!;
      const info = await listen(server, hp.host, hp.port).catch((err: NodeJS.ErrnoException) => {
        const why = `cannot listen on ${where} (${err.code ?? err.message})`;
        throw new ListenError(`smtp.${kind}`, where, err.code, why);
      });
      servers.push(server);
      const address = formatAddress(info);
      addresses.push({ kind, address });
      maillog.listening({ kind, address });
    }
  }

  return {
    addresses,
    async stop() {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      await drainSubmissions();
    },
  };
}

function listen(server: SMTPServer, host: string, port: number): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.server.once('error', onError);
    server.server.listen({ host, port }, () => {
      server.server.removeListener('error', onError);
      resolve(server.server.address() as net.AddressInfo);
    });
  });
}
