/**
 * What every admin route shares: a page needs an operator's session (else the login page),
 * and a form POST must also pass the CSRF checks (csrf.ts: Origin / Sec-Fetch-Site and the
 * session's token), else nothing is done and the page says so.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { maillog } from '../../maillog/log.js';
import { checkOrigin, checkToken } from '../csrf.js';
import { sendPage } from '../respond.js';
import type { Session } from '../session.js';
import { adminSession, type AdminDeps } from './auth.js';
import { adminMessagePage, type AdminUser } from './layout.js';

export type AdminHandler = (
  req: FastifyRequest,
  reply: FastifyReply,
  session: Session,
) => Promise<FastifyReply>;

export function userOf(s: Session): AdminUser {
  return { address: s.user, csrf: s.csrf };
}

/** A GET page for operators only. */
export function adminPage(deps: AdminDeps, handler: AdminHandler) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const s = await adminSession(deps, req);
    if (!s) return reply.redirect('/admin/login', 303);
    return handler(req, reply, s);
  };
}

/** A form POST for operators only, after the CSRF checks. */
export function adminAction(deps: AdminDeps, handler: AdminHandler) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const s = await adminSession(deps, req);
    if (!s) return reply.redirect('/admin/login', 303);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const bad = checkOrigin(req);
    if (bad || !checkToken(s.csrf, body.csrf)) return refused(reply, bad ?? 'missing or wrong form token', s);
    return handler(req, reply, s);
  };
}

/** A POST that failed the CSRF checks: nothing was done. */
export function refused(reply: FastifyReply, why: string, s: Session | null): FastifyReply {
  maillog.warn(
    { area: 'admin', user: s?.user ?? null, ip: reply.request.ip, reason: why },
    'web form refused (CSRF check)',
  );
  return sendPage(
    reply,
    403,
    adminMessagePage(
      'Form refused',
      'This form was not accepted because it came from another site or had expired. Nothing was done.',
      { href: s ? '/admin' : '/admin/login', text: 'Go back and try again' },
      s ? userOf(s) : null,
    ),
  );
}

export function notFound(reply: FastifyReply, s: Session, what: string): FastifyReply {
  return sendPage(
    reply,
    404,
    adminMessagePage('Not found', what, { href: '/admin/queue', text: 'Go to the queue' }, userOf(s)),
  );
}

/** The body's field as a string ('' when absent or not a string). */
export function field(req: FastifyRequest, name: string): string {
  const v = ((req.body ?? {}) as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
}
