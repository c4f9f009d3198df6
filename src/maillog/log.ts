/**
 * The one module that writes log lines: JSON lines on stdout (pino), one function per event,
 * so the format cannot drift. Every line about a message carries its queue id (`qid`); before
 * a queue id exists, lines carry the session id (`sid`). Passwords never reach this module.
 */
import { pino, type Logger } from 'pino';
import { metricEvents } from '../metrics/events.js';
import type { Reply } from '../reply/reply.js';

let base: Logger = pino({ level: 'silent' });

export function initLog(level: string, node: string, dest?: NodeJS.WritableStream): Logger {
  base = pino(
    { level, base: { node }, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' },
    (dest as pino.DestinationStream | undefined) ?? pino.destination({ fd: 1, sync: false }),
  );
  return base;
}

export function logger(): Logger {
  return base;
}

type Fields = Record<string, unknown>;
const replyFields = (r: Reply) => ({ code: r.code, dsn: r.enhanced, reply: r.text });

export const maillog = {
  started: (f: Fields) => base.info({ event: 'start', ...f }, 'outpost started'),
  stopping: (f: Fields) => base.info({ event: 'stop', ...f }, 'outpost stopping'),
  listening: (f: Fields) => base.info({ event: 'listen', ...f }, 'listening'),
  connect: (sid: string, f: Fields) => {
    metricEvents.sessionOpened(sid);
    base.info({ event: 'connect', sid, ...f }, 'connection');
  },
  disconnect: (sid: string, f: Fields) => {
    metricEvents.sessionClosed(sid);
    base.info({ event: 'disconnect', sid, ...f }, 'disconnect');
  },
  tls: (sid: string, f: Fields) => base.info({ event: 'tls', sid, ...f }, 'TLS established'),
  authOk: (sid: string, user: string, f: Fields = {}) =>
    base.info({ event: 'auth', sid, user, result: 'ok', ...f }, 'authenticated'),
  authFailed: (sid: string, user: string, f: Fields = {}) =>
    base.warn({ event: 'auth', sid, user, result: 'failed', ...f }, 'authentication failed'),
  authLockout: (ip: string, f: Fields = {}) =>
    base.warn({ event: 'auth_lockout', ip, ...f }, 'address locked out after repeated login failures'),
  refused: (ids: { sid?: string; qid?: string }, stage: string, r: Reply, f: Fields = {}) => {
    metricEvents.refused(stage, r.enhanced);
    base.info({ event: 'refused', ...ids, stage, ...replyFields(r), ...f }, 'refused');
  },
  accepted: (qid: string, f: Fields) => {
    metricEvents.accepted(f);
    base.info({ event: 'accepted', qid, ...f }, 'message queued');
  },
  attempt: (qid: string, f: Fields) => {
    metricEvents.attempt(f);
    base.info({ event: 'attempt', qid, ...f }, 'delivery attempt');
  },
  recipientDone: (qid: string, f: Fields) => base.info({ event: 'recipient', qid, ...f }, 'recipient final state'),
  notice: (qid: string, f: Fields) => base.info({ event: 'notice', qid, ...f }, 'notice queued'),
  noticeDropped: (qid: string, f: Fields) =>
    base.warn({ event: 'notice_dropped', qid, ...f }, 'notice could not be delivered; dropped'),
  queueAction: (qid: string, action: string, f: Fields = {}) =>
    base.info({ event: 'queue', qid, action, ...f }, `queue ${action}`),
  scanners: (names: string[]) => base.info({ event: 'scanners', active: names }, 'active scanners'),
  scanFailed: (ids: { sid?: string; qid?: string }, scanner: string, f: Fields) =>
    base.warn({ event: 'scan_error', ...ids, scanner, ...f }, 'scanner failed'),
  blocked: (principal: string, f: Fields) => base.warn({ event: 'block', principal, ...f }, 'principal blocked'),
  unblocked: (principal: string, f: Fields = {}) => base.info({ event: 'unblock', principal, ...f }, 'principal unblocked'),
  webLogin: (f: Fields) => base.info({ event: 'web_login', ...f }, 'web login'),
  /** An operator's action on the admin page (queue or blocks), with who did it. */
  adminAction: (admin: string, action: string, f: Fields = {}) =>
    base.info({ event: 'admin', admin, action, ...f }, `admin ${action}`),
  error: (f: Fields, msg: string) => base.error({ event: 'error', ...f }, msg),
  warn: (f: Fields, msg: string) => base.warn({ event: 'warning', ...f }, msg),
};
