/**
 * The admin login and logout. The same defences as the webmail's login, from the same
 * modules: the form's double-submit token and the Origin / Sec-Fetch-Site check (csrf.ts),
 * the failed-login delay and lockout per client address and per account (throttle.ts), and
 * a fresh session id at each login (session.ts). Only operator accounts log in here.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { maillog } from '../../maillog/log.js';
import { normalizeAddress } from '../../policy/auth.js';
import { checkOrigin, checkToken } from '../csrf.js';
import { html } from '../html.js';
import { sendPage } from '../respond.js';
import { randomToken } from '../session.js';
import {
  ADMIN_LOGIN_COOKIE,
  adminCookieOptions,
  adminSession,
  clearAdminCookie,
  setAdminCookie,
  verifyAdmin,
  type AdminDeps,
} from './auth.js';
import { adminLayout } from './layout.js';
import { refused } from './respond.js';

/** Long enough to fill in a form; the login token is worthless after a login. */
const LOGIN_TOKEN_SECONDS = 3600;

interface LoginView {
  csrf: string;
  email?: string;
  error?: string;
  notice?: string;
}

function loginPage(v: LoginView): string {
  const err = v.error
    ? html`<div class="alert error" role="alert" id="login-error"><p>${v.error}</p></div>`
    : '';
  const notice = v.notice ? html`<p class="alert info" role="status">${v.notice}</p>` : '';
  const described = v.error ? html` aria-describedby="login-error" aria-invalid="true"` : '';
  return adminLayout({
    title: 'Log in',
    body: html`<h1>Operator login</h1>
<p>For the gateway's operators. Mailbox accounts cannot log in here.</p>
${notice}${err}
<form method="post" action="/admin/login" class="card narrow">
  <input type="hidden" name="csrf" value="${v.csrf}">
  <div class="field">
    <label for="email">Email address</label>
    <input id="email" name="email" type="email" autocomplete="username" spellcheck="false"
      autocapitalize="none" required value="${v.email ?? ''}"${described}>
  </div>
  <div class="field">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required${described}>
  </div>
  <button type="submit">Log in</button>
</form>`,
  });
}

export function registerAdminLogin(app: FastifyInstance, deps: AdminDeps): void {
  app.get('/admin/login', async (req, reply) => {
    if (await adminSession(deps, req)) return reply.redirect('/admin', 303);
    const csrf = loginToken(req, reply);
    const out = (req.query as Record<string, string>).out === '1';
    return sendPage(reply, 200, loginPage({ csrf, notice: out ? 'You have logged out.' : undefined }));
  });

  app.post('/admin/login', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const email = typeof body.email === 'string' ? body.email.slice(0, 320) : '';
    const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
    const user = normalizeAddress(email);
    const ip = req.ip;

    const bad = checkOrigin(req);
    if (bad || !checkToken(req.cookies[ADMIN_LOGIN_COOKIE], body.csrf)) {
      const reason = bad ?? 'missing or wrong form token';
      maillog.webLogin({ area: 'admin', user, ip, result: 'refused', reason });
      const csrf = loginToken(req, reply, true);
      const error = 'The login form had expired or came from another site. Please log in again.';
      return sendPage(reply, 403, loginPage({ csrf, email, error }));
    }

    const locked = await deps.throttle.locked(ip, user);
    if (locked) {
      maillog.webLogin({ area: 'admin', user, ip, result: 'locked', scope: locked });
      const who = locked === 'address' ? 'from your address' : 'for this account';
      const minutes = Math.ceil(deps.ctx.cfg.auth.lockout / 60_000);
      const error =
        `Too many failed logins ${who}. ` +
        `Logging in is refused for up to ${minutes} minutes; try again later.`;
      return sendPage(reply, 429, loginPage({ csrf: loginToken(req, reply), email, error }));
    }

    const account = user && password ? await verifyAdmin(deps, user, password) : null;
    if (!account) {
      const { delayMs, lockedNow } = await deps.throttle.failed(ip, user);
      maillog.webLogin({ area: 'admin', user, ip, result: 'failed', locked: lockedNow });
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const more = lockedNow ? ' Too many failed logins: logging in is refused for a while.' : '';
      const error = `The email address or password is wrong.${more}`;
      return sendPage(reply, 401, loginPage({ csrf: loginToken(req, reply), email, error }));
    }

    await deps.throttle.succeeded(user);
    const session = await deps.sessions.create(account);
    setAdminCookie(deps, req, reply, session);
    reply.clearCookie(ADMIN_LOGIN_COOKIE, adminCookieOptions(req));
    maillog.webLogin({ area: 'admin', user: account.address, ip, result: 'ok' });
    return reply.redirect('/admin', 303);
  });

  app.post('/admin/logout', async (req, reply) => {
    const session = await adminSession(deps, req);
    if (!session) return reply.redirect('/admin/login', 303);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const bad = checkOrigin(req);
    if (bad || !checkToken(session.csrf, body.csrf)) {
      return refused(reply, bad ?? 'missing or wrong form token', session);
    }
    await deps.sessions.destroy(session.id);
    clearAdminCookie(req, reply);
    maillog.webLogin({ area: 'admin', user: session.user, ip: req.ip, result: 'logout' });
    return reply.redirect('/admin/login?out=1', 303);
  });
}

/** The login form's token: the one in the cookie, or a new one (also after a refusal). */
function loginToken(req: FastifyRequest, reply: FastifyReply, renew = false): string {
  const existing = req.cookies[ADMIN_LOGIN_COOKIE];
  if (existing && !renew && existing.length <= 100) return existing;
  const token = randomToken();
  reply.setCookie(ADMIN_LOGIN_COOKIE, token, adminCookieOptions(req, LOGIN_TOKEN_SECONDS));
  return token;
}
