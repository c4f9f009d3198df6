/**
 * Who may use the admin pages: operators from the store's admins table (`outpost admin add`),
 * never mailbox accounts. Logins, sessions and the failed-login throttle are the webmail's own
 * modules (session.ts, throttle.ts, policy/auth.ts verifyLogin), run on a view of the store
 * whose accounts are the operators and whose key/value entries carry an "admin:" prefix. So
 * an admin session and a webmail session never stand in for each other, an operator's failed
 * logins do not lock a mailbox of the same address, and deleting an operator or changing
 * their password ends their sessions, as it does for mailboxes.
 *
 * The session cookie is its own (outpost_admin) and is sent only to /admin.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../app.js';
import { verifyLogin } from '../../policy/auth.js';
import type { Account, Store } from '../../store/store.js';
import { cookieOptions, Sessions, type Session } from '../session.js';
import { LoginThrottle } from '../throttle.js';

export const ADMIN_COOKIE = 'outpost_admin';
/** Double-submit token of the admin login form. */
export const ADMIN_LOGIN_COOKIE = 'outpost_admin_login';
export const ADMIN_PATH = '/admin';

/**
 * The store as the session and throttle modules should see it for operators. Everything else
 * is the store itself (the view inherits from it).
 */
export function adminStoreView(store: Store): Store {
  const view = Object.create(store) as Store;
  view.getAccount = async (address: string): Promise<Account | null> => {
    const a = await store.getAdmin(address);
    return a ? { ...a, grants: [] } : null;
  };
  view.kvGet = (key) => store.kvGet(`admin:${key}`);
  view.kvSet = (key, value, expires) => store.kvSet(`admin:${key}`, value, expires);
  view.kvDelete = (key) => store.kvDelete(`admin:${key}`);
  return view;
}

export interface AdminDeps {
  ctx: AppContext;
  store: Store;
  sessions: Sessions;
  throttle: LoginThrottle;
}

export function adminDeps(ctx: AppContext): AdminDeps {
  const store = adminStoreView(ctx.store);
  const a = ctx.cfg.auth;
  return {
    ctx,
    store,
    sessions: new Sessions(store, ctx.cfg.web.session_ttl, ctx.now),
    throttle: new LoginThrottle(
      store,
      {
        maxFailures: a.max_failures,
        windowMs: a.failure_window,
        lockoutMs: a.lockout,
        delayMs: a.failure_delay,
      },
      ctx.now,
    ),
  };
}

/** The operator's account when the password is right (constant time for unknown ones). */
export function verifyAdmin(deps: AdminDeps, address: string, password: string) {
  return verifyLogin(deps.store, address, password);
}

export function adminCookieOptions(req: FastifyRequest, maxAgeSeconds?: number) {
  return { ...cookieOptions(req, maxAgeSeconds), path: ADMIN_PATH };
}

export async function adminSession(deps: AdminDeps, req: FastifyRequest): Promise<Session | null> {
  return deps.sessions.load(req.cookies[ADMIN_COOKIE]);
}

export function setAdminCookie(deps: AdminDeps, req: FastifyRequest, reply: FastifyReply, s: Session) {
  const ttl = Math.floor(deps.ctx.cfg.web.session_ttl / 1000);
  reply.setCookie(ADMIN_COOKIE, s.id, adminCookieOptions(req, ttl));
}

export function clearAdminCookie(req: FastifyRequest, reply: FastifyReply) {
  reply.clearCookie(ADMIN_COOKIE, adminCookieOptions(req));
}
