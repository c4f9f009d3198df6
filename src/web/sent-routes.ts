/** The sent messages page and the JSON it polls (/api/sent), both for the logged-in mailbox only. */
import type { FastifyInstance } from 'fastify';
import type { WebDeps } from './deps.js';
import { sendPage } from './respond.js';
import { sentPage } from './sent-page.js';
import { sentStatus } from './status.js';

export function registerSentRoutes(app: FastifyInstance, deps: WebDeps): void {
  app.get('/sent', async (req, reply) => {
    const s = await deps.sessions.fromRequest(req);
    if (!s) return reply.redirect('/login', 303);
    const messages = await sentStatus(deps.ctx.store, s.user);
    // Only a queue id of the user's own listed messages is echoed back.
    const q = (req.query as Record<string, unknown>).queued;
    const queued = typeof q === 'string' && messages.some((m) => m.id === q) ? q : undefined;
    return sendPage(
      reply,
      200,
      sentPage({ user: { address: s.user, csrf: s.csrf }, messages, queued }),
    );
  });

  app.get('/api/sent', async (req, reply) => {
    const s = await deps.sessions.fromRequest(req);
    if (!s) return reply.code(401).send({ error: 'not logged in' });
    return reply.send({ user: s.user, messages: await sentStatus(deps.ctx.store, s.user) });
  });
}
