/**
 * The SMTP session's decisions, as smtp-server hooks. Each hook turns the session into a
 * Principal and asks the intake pipeline (src/intake), which holds all policy; the hooks
 * themselves only translate between the protocol and intake, and do the byte checks of
 * DATA while the message streams in.
 */
import type {
  SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerDataStream, SMTPServerOptions,
  SMTPServerSession,
} from 'smtp-server';
import type { AppContext } from '../app.js';
import { checkRecipient, checkSender, submitMessage } from '../intake/intake.js';
import type { Principal, Submission } from '../intake/types.js';
import { maillog } from '../maillog/log.js';
import { normalizeAddress, verifyLogin } from '../policy/auth.js';
import type { AuthThrottle } from '../policy/auth-throttle.js';
import { isTrusted } from '../policy/relay.js';
import { replies, ReplyError, type Reply } from '../reply/reply.js';
import type { Notify } from '../store/store.js';
import { MessageCollector } from './data-check.js';

export type ListenerKind = 'submission' | 'submissions';

type HookName = 'onConnect' | 'onSecure' | 'onAuth' | 'onMailFrom' | 'onRcptTo' | 'onData' | 'onClose';
type Hooks = Required<Pick<SMTPServerOptions, HookName>>;
type AuthCallback = (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void;

const NON_ASCII = /[^\x00-\x7f]/;

export function principalOf(ctx: AppContext, session: SMTPServerSession): Principal {
  return {
    sessionId: session.id,
    clientIp: session.remoteAddress,
    authUser: session.user ? String(session.user) : null,
    trusted: isTrusted(ctx.cfg, session.remoteAddress),
    tls: !!session.secure,
  };
}

/** Runs an async hook body; a fault becomes 451 4.3.0 instead of a hung session. */
function guard(sid: string, fn: () => Promise<Reply | null>, cb: (err?: Error | null) => void): void {
  fn().then(
    (r) => cb(r ? new ReplyError(r) : null),
    (err: Error) => {
      maillog.error({ sid, error: err.message }, 'session hook failed');
      cb(new ReplyError(replies.localError));
    },
  );
}

export function sessionHooks(ctx: AppContext, kind: ListenerKind, throttle: AuthThrottle): Hooks {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  return {
    onConnect(session, cb) {
      maillog.connect(session.id, {
        ip: session.remoteAddress,
        port: session.remotePort,
        listener: kind,
        trusted: isTrusted(ctx.cfg, session.remoteAddress),
      });
      // AUTH is offered and accepted only inside TLS (RFC 8314, RFC 4954 section 4).
      session.disabledCommands = session.secure ? [] : ['AUTH'];
      cb();
    },

    onSecure(_socket, session, cb) {
      const t = session.tlsOptions || null;
      const cipher = t?.standardName ?? t?.name;
      maillog.tls(session.id, { ip: session.remoteAddress, version: t?.version, cipher });
      session.disabledCommands = [];
      cb();
    },

    onAuth(auth: SMTPServerAuthentication, session, cb: AuthCallback) {
      const ip = session.remoteAddress;
      const user = normalizeAddress(auth.username ?? '');
      void (async () => {
        if (await throttle.isLockedOut(ip)) {
          maillog.authFailed(session.id, user, { ip, method: auth.method, reason: 'locked out' });
          return cb(new ReplyError(replies.authLockedOut));
        }
        // RFC 4616: logging in as one identity to act as another is not supported.
        const proxy = auth.authzid && auth.authcid && normalizeAddress(auth.authzid) !== user;
        const account = proxy ? null : await verifyLogin(ctx.store, user, auth.password ?? '');
        if (!account) {
          const outcome = await throttle.recordFailure(ip);
          maillog.authFailed(session.id, user, { ip, method: auth.method, failures: outcome.failures });
          if (outcome.lockedOut) maillog.authLockout(ip, { failures: outcome.failures, user });
          if (outcome.delayMs > 0) await sleep(outcome.delayMs);
          return cb(new ReplyError(replies.badCredentials));
        }
        maillog.authOk(session.id, account.address, { ip, method: auth.method });
        cb(null, { user: account.address });
      })().catch((err: Error) => {
        maillog.error({ sid: session.id, error: err.message }, 'authentication failed with an error');
        cb(new ReplyError(replies.localError));
      });
    },

    onMailFrom(address, session, cb) {
      guard(session.id, () => checkSender(ctx, principalOf(ctx, session), address.address), cb);
    },

    onRcptTo(address, session, cb) {
      const count = session.envelope.rcptTo.length;
      guard(session.id, () => checkRecipient(ctx, principalOf(ctx, session), address.address, count), cb);
    },

    onData(stream: SMTPServerDataStream, session, cb) {
      const collector = new MessageCollector(ctx.cfg.smtp.max_message_size);
      stream.on('data', (chunk: Buffer) => collector.feed(chunk));
      // The client went away mid-message: the connection cleans up, nothing is queued.
      stream.once('error', () => undefined);
      stream.once('end', () => {
        if (collector.violation) {
          maillog.refused({ sid: session.id }, 'data', collector.violation, {
            ip: session.remoteAddress,
            user: session.user ?? null,
            size: collector.bytes,
          });
          return cb(new ReplyError(collector.violation));
        }
        const sub = submissionOf(ctx, session);
        submitMessage(ctx, sub, collector.take()).then(
          (r) => {
            if (!r.ok) return cb(new ReplyError(r.reply));
            const q = replies.queued(r.queueId);
            cb(null, `${q.enhanced} ${q.text}`);
          },
          (err: Error) => {
            maillog.error({ sid: session.id, error: err.message }, 'submission failed');
            cb(new ReplyError(replies.localError));
          },
        );
      });
    },

    onClose(session) {
      maillog.disconnect(session.id, { ip: session.remoteAddress, user: session.user ?? null });
    },
  };
}

/** The envelope of the current transaction, as intake wants it. */
function submissionOf(ctx: AppContext, session: SMTPServerSession): Submission {
  const env = session.envelope;
  const mailFrom = env.mailFrom ? env.mailFrom.address : '';
  const recipients = env.rcptTo.map((r) => ({
    address: r.address,
    orcpt: r.dsn?.orcpt ?? null,
    notify: (r.dsn?.notify ?? null) as Notify,
  }));
  const t = session.tlsOptions || null;
  const ret = env.dsn?.ret;
  return {
    ...principalOf(ctx, session),
    heloName: session.hostNameAppearsAs || '',
    clientHostname: session.clientHostname || null,
    protocol: session.transmissionType,
    tlsInfo: t ? { version: t.version, cipher: t.standardName ?? t.name } : null,
    sender: mailFrom,
    recipients,
    envid: env.dsn?.envid ?? null,
    ret: ret === 'FULL' || ret === 'HDRS' ? ret : null,
    eightBit: env.bodyType === '8bitmime',
    smtputf8: !!env.smtpUtf8 || NON_ASCII.test(mailFrom) || recipients.some((r) => NON_ASCII.test(r.address)),
  };
}
