/**
 * The webmail's HTTP listener (fastify), in the same process as SMTP submission, on each
 * address of web.listen. Plain HTTP: TLS is ended by a proxy in front, whose X-Forwarded-For
 * and X-Forwarded-Proto are believed only from web.trusted_proxies (else ignored, so a
 * client cannot claim another address or HTTPS). Every response carries a strict Content
 * Security Policy: the pages load scripts and styles from this server only.
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { parseHostPort } from '../config/schema.js';
import { maillog } from '../maillog/log.js';
import { ListenError } from '../submission/server.js';
import { loadAssets } from './assets.js';
import { registerComposeRoutes } from './compose-routes.js';
import type { WebDeps } from './deps.js';
import { messagePage } from './layout.js';
import { registerLoginRoutes } from './login-routes.js';
import { sendPage } from './respond.js';
import { registerSentRoutes } from './sent-routes.js';
import { registerOperatorRoutes } from './admin/index.js';
import { Sessions } from './session.js';
import { LoginThrottle } from './throttle.js';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function webDeps(ctx: AppContext): WebDeps {
  const a = ctx.cfg.auth;
  return {
    ctx,
    sessions: new Sessions(ctx.store, ctx.cfg.web.session_ttl, ctx.now),
    throttle: new LoginThrottle(
      ctx.store,
      {
        maxFailures: a.max_failures,
        windowMs: a.failure_window,
        lockoutMs: a.lockout,
        delayMs: a.failure_delay,
      },
      ctx.now,
    ),
    assets: loadAssets(),
  };
}

/** The fastify app with every route, not listening yet (tests may use app.inject). */
export async function buildWebApp(deps: WebDeps): Promise<FastifyInstance> {
  const proxies = deps.ctx.cfg.web.trusted_proxies;
  const app = Fastify({
    logger: false,
    trustProxy: proxies.length > 0 ? proxies : false,
    bodyLimit: 64 * 1024,
  });
  await app.register(cookie);
  await app.register(formbody);
  await app.register(multipart, { throwFileSizeLimit: false });

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('Content-Security-Policy', CSP);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Referrer-Policy', 'same-origin');
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
    return payload;
  });

  app.get('/', async (req, reply) => {
    const s = await deps.sessions.fromRequest(req);
    return reply.redirect(s ? '/compose' : '/login', 303);
  });
  // Browsers ask for it on their own; there is none, and a 404 page would only be noise.
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  app.get('/assets/:name', async (req, reply) => {
    const asset = deps.assets.get((req.params as { name: string }).name);
    if (!asset)
      return sendPage(
        reply,
        404,
        messagePage('Not found', 'There is no such file.', { href: '/', text: 'Webmail' }),
      );
    return reply.type(asset.type).header('Cache-Control', 'no-cache').send(asset.body);
  });
  registerLoginRoutes(app, deps);
  registerComposeRoutes(app, deps);
  registerSentRoutes(app, deps);
  registerOperatorRoutes(app, deps);

  app.setNotFoundHandler((_req, reply) =>
    sendPage(
      reply,
      404,
      messagePage('Not found', 'This page does not exist.', { href: '/', text: 'Go to webmail' }),
    ),
  );
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status =
      err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500)
      maillog.error({ kind: 'web', url: req.url, error: err.message }, 'web request failed');
    return sendPage(
      reply,
      status,
      messagePage(
        status === 500 ? 'Something went wrong' : 'Request refused',
        status === 500
          ? 'The page could not be shown because of an error on our side. Please try again.'
          : 'The request could not be handled.',
        { href: '/', text: 'Go to webmail' },
      ),
    );
  });
  return app;
}

export interface WebServer {
  /** "127.0.0.1:8080" for each listener, with the port actually bound. */
  addresses: string[];
  stop(): Promise<void>;
}

/** Starts one listener per web.listen address and logs each once it is ready. */
export async function startWeb(ctx: AppContext): Promise<WebServer> {
  const deps = webDeps(ctx);
  const apps: FastifyInstance[] = [];
  const addresses: string[] = [];
  try {
    for (const listen of ctx.cfg.web.listen) {
      const { host, port } = parseHostPort(listen)!;
      const app = await buildWebApp(deps);
      apps.push(app);
      await app.listen({ host, port }).catch((err: NodeJS.ErrnoException) => {
        throw new ListenError(
          'web.listen',
          listen,
          err.code,
          `cannot listen on ${listen} (${err.code ?? err.message})`,
        );
      });
      const bound = app.server.address();
      const actualPort = bound && typeof bound === 'object' ? bound.port : port;
      const address = host.includes(':') ? `[${host}]:${actualPort}` : `${host}:${actualPort}`;
      addresses.push(address);
      maillog.listening({ kind: 'web', address });
    }
  } catch (err) {
    await Promise.allSettled(apps.map((a) => a.close()));
    throw err;
  }
  return {
    addresses,
    stop: async () => {
      await Promise.allSettled(apps.map((a) => a.close()));
    },
  };
}
