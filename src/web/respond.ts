/** Small answers every route uses: an HTML page, and the refusal of a forged form. */
import type { FastifyReply } from 'fastify';
import { maillog } from '../maillog/log.js';
import { messagePage } from './layout.js';
import type { Session } from './session.js';

export function sendPage(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(page);
}

/** A POST that failed the CSRF checks: nothing was done, and the page says so. */
export function forbidden(reply: FastifyReply, why: string, session: Session | null): FastifyReply {
  maillog.warn(
    { user: session?.user ?? null, ip: reply.request.ip, reason: why },
    'web form refused (CSRF check)',
  );
  const user = session ? { address: session.user, csrf: session.csrf } : null;
  return sendPage(
    reply,
    403,
    messagePage(
      'Form refused',
      'This form was not accepted because it came from another site or had expired. Nothing was sent.',
      { href: session ? '/compose' : '/login', text: 'Go back and try again' },
      user,
    ),
  );
}
