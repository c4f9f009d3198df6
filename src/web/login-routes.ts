/**
 * Login and logout. The credentials are the mailbox's, checked by the same code as SMTP AUTH
 * (policy/auth.ts). Failed logins are slowed and then refused per address and per mailbox
 * (throttle.ts). A new session id is made at each login; logout deletes it from the store.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { maillog } from '../maillog/log.js';
import { normalizeAddress, verifyLogin } from '../policy/auth.js';
import { checkOrigin, checkToken } from './csrf.js';
import { loginPage } from './login-page.js';
import { cookieOptions, LOGIN_COOKIE, randomToken } from './session.js';
import type { WebDeps } from './deps.js';
import { forbidden, sendPage } from './respond.js';

/** Long enough to fill in a form; the login token is worthless after a login. */
const LOGIN_TOKEN_SECONDS = 3600;

export function registerLoginRoutes(app: FastifyInstance, deps: WebDeps): void {
  app.get('/login', async (req, reply) => {
    if (await deps.sessions.fromRequest(req)) return reply.redirect('/compose', 303);
    const csrf = loginToken(req, reply);
    const notice =
      (req.query as Record<string, string>).out === '1' ? 'You have logged out.' : undefined;
    return sendPage(reply, 200, loginPage({ csrf, notice }));
  });

  app.post('/login', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const email = typeof body.email === 'string' ? body.email.slice(0, 320) : '';
    const password = typeof body.password === 'string' ? body.password.slice(0, 1024) : '';
    const user = normalizeAddress(email);
    const ip = req.ip;

    const bad = checkOrigin(req);
    if (bad || !checkToken(req.cookies[LOGIN_COOKIE], body.csrf)) {
      maillog.webLogin({
        user,
        ip,
        result: 'refused',
        reason: bad ?? 'missing or wrong form token',
      });
      const csrf = loginToken(req, reply, true);
      return sendPage(
        reply,
        403,
        loginPage({
          csrf,
          email,
          error: 'The login form had expired or came from another site. Please log in again.',
        }),
      );
    }

    const locked = await deps.throttle.locked(ip, user);
    if (locked) {
      maillog.webLogin({ user, ip, result: 'locked', scope: locked });
      const csrf = loginToken(req, reply);
      const who = locked === 'address' ? 'from your address' : 'for this mailbox';
      const minutes = Math.ceil(deps.ctx.cfg.auth.lockout / 60_000);
      return sendPage(
        reply,
        429,
        loginPage({
          csrf,
          email,
          error:
            `Too many failed logins ${who}. ` +
            `Logging in is refused for up to ${minutes} minutes; try again later.`,
        }),
      );
    }

    const account = user && password ? await verifyLogin(deps.ctx.store, user, password) : null;
    if (!account) {
      const { delayMs, lockedNow } = await deps.throttle.failed(ip, user);
      maillog.webLogin({ user, ip, result: 'failed', locked: lockedNow });
      if (delayMs > 0) await sleep(delayMs);
      const csrf = loginToken(req, reply);
      const more = lockedNow ? ' Too many failed logins: logging in is refused for a while.' : '';
      return sendPage(
        reply,
        401,
        loginPage({ csrf, email, error: `The email address or password is wrong.${more}` }),
      );
    }

    await deps.throttle.succeeded(user);
    const session = await deps.sessions.create(account);
    deps.sessions.setCookie(req, reply, session);
    reply.clearCookie(LOGIN_COOKIE, cookieOptions(req));
    maillog.webLogin({ user: account.address, ip, result: 'ok' });
    return reply.redirect('/compose', 303);
  });

  app.post('/logout', async (req, reply) => {
    const session = await deps.sessions.fromRequest(req);
    if (!session) return reply.redirect('/login', 303);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const bad = checkOrigin(req);
    if (bad || !checkToken(session.csrf, body.csrf))
      return forbidden(reply, bad ?? 'missing or wrong form token', session);
    await deps.sessions.destroy(session.id);
    deps.sessions.clearCookie(req, reply);
    maillog.webLogin({ user: session.user, ip: req.ip, result: 'logout' });
    return reply.redirect('/login?out=1', 303);
  });
}

/** The login form's token: the one in the cookie, or a new one (also after a refusal). */
function loginToken(req: FastifyRequest, reply: FastifyReply, renew = false): string {
  const existing = req.cookies[LOGIN_COOKIE];
  if (existing && !renew && existing.length <= 100) return existing;
  const token = randomToken();
  reply.setCookie(LOGIN_COOKIE, token, cookieOptions(req, LOGIN_TOKEN_SECONDS));
  return token;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
