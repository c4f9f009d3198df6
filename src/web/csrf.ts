/**
 * Cross-site request forgery defences for every form POST, in two layers:
 *  1. the browser's own word: Sec-Fetch-Site must be "same-origin" when sent, and an Origin
 *     header, when sent, must name this host (a page on another origin or port fails here);
 *  2. a token in a hidden field that must match the session's (or, for the login form, the
 *     login cookie's), for clients that send neither header.
 * SameSite=Strict cookies are a third layer the browser applies before we see the request.
 */
import type { FastifyRequest } from 'fastify';
import { sameToken } from './session.js';

/** Null when the request may come from our own pages, else why not (for the log). */
export function checkOrigin(req: FastifyRequest): string | null {
  const site = header(req, 'sec-fetch-site');
  // "none" is a navigation the user started (address bar, bookmark), never a forged form.
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return `Sec-Fetch-Site: ${site}`;
  const origin = header(req, 'origin');
  if (origin === undefined) return null;
  if (origin === 'null') return 'Origin: null';
  // Host is what the browser addressed (or X-Forwarded-Host from a trusted proxy); a page
  // served from another origin cannot make the browser send our Host with its own Origin.
  // The scheme is not compared: a proxy without X-Forwarded-Proto would fail every form.
  // Both sides go through URL so that a default port ("host:80") compares equal to none.
  try {
    const o = new URL(origin);
    if (new URL(`${o.protocol}//${req.host ?? ''}`).host !== o.host) return `Origin: ${origin}`;
  } catch {
    return `Origin: ${origin}`;
  }
  return null;
}

export function checkToken(expected: string | undefined | null, given: unknown): boolean {
  return typeof given === 'string' && sameToken(expected, given);
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
