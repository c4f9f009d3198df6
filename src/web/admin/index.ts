/**
 * The operators' side of the web listener: GET /metrics (Prometheus) and the admin pages under
 * /admin (overview with charts, queue, one message's history and actions, blocks), with their
 * own style sheet. Registered by web/server.ts next to the webmail's routes.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { registerMetricsRoute } from '../../metrics/scrape.js';
import type { WebDeps } from '../deps.js';
import { adminDeps } from './auth.js';
import { registerBlockRoutes } from './blocks.js';
import { registerAdminLogin } from './login.js';
import { registerOverview } from './overview.js';
import { registerQueueRoutes } from './queue-routes.js';

/** The compiled module runs from dist/src/web/admin/; the style sheet stays in the source tree. */
function loadCss(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [
    path.join(here, 'assets', 'admin.css'),
    path.resolve(here, '../../../../src/web/admin/assets/admin.css'),
  ];
  const file = candidates.find((f) => existsSync(f));
  if (!file) throw new Error(`admin style sheet not found (looked in ${candidates.join(', ')})`);
  return readFileSync(file, 'utf8');
}

let css: string | null = null;

export function registerOperatorRoutes(app: FastifyInstance, web: WebDeps): void {
  registerMetricsRoute(app, web.ctx);
  const deps = adminDeps(web.ctx);
  css ??= loadCss();
  const sheet = css;
  app.get('/admin/assets/admin.css', async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('Cache-Control', 'no-cache').send(sheet),
  );
  app.get('/admin/', async (_req, reply) => reply.redirect('/admin', 301));
  registerAdminLogin(app, deps);
  registerOverview(app, deps);
  registerQueueRoutes(app, deps);
  registerBlockRoutes(app, deps);
}
