/**
 * Web sessions, kept in the store's key/value table so that any node behind the same
 * database can serve a logged-in user. The cookie holds a random id; the store holds only its
 * SHA-256, so a copy of the database does not hand out live sessions. Each session carries
 * its own CSRF token. Sessions end at a fixed time after login (web.session_ttl), at logout,
 * and when the mailbox is deleted or its password changed (the session remembers a digest of
 * the password hash it was opened with).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Account, Store } from '../store/store.js';

export const SESSION_COOKIE = 'outpost_session';
/** Double-submit token for the login form, which comes before any session exists. */
export const LOGIN_COOKIE = 'outpost_login';

export interface Session {
  /** The random id from the cookie (never stored). */
  id: string;
  /** Mailbox address, lower-cased. */
  user: string;
  csrf: string;
  created: number;
  expires: number;
}

interface StoredSession {
  user: string;
  csrf: string;
  created: number;
  expires: number;
  /** Digest of the account's password hash at login. */
  pw: string;
}

export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

function keyOf(id: string): string {
  return 'web:session:' + createHash('sha256').update(id).digest('hex');
}

function passwordDigest(account: Account): string {
  return createHash('sha256').update(account.hash).digest('hex').slice(0, 32);
}

/** Constant-time comparison of two tokens (an absent one never matches). */
export function sameToken(a: string | undefined | null, b: string | undefined | null): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The request came over TLS, directly or (per trusted_proxies) through a terminating proxy. */
export function isHttps(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

export function cookieOptions(req: FastifyRequest, maxAgeSeconds?: number) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: isHttps(req),
    ...(maxAgeSeconds !== undefined ? { maxAge: maxAgeSeconds } : {}),
  };
}

export class Sessions {
  constructor(
    private readonly store: Store,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /** A new session for `user`; a fresh id each login, so a planted cookie is worthless. */
  async create(account: Account): Promise<Session> {
    const now = this.now();
    const s: Session = {
      id: randomToken(),
      user: account.address,
      csrf: randomToken(),
      created: now,
      expires: now + this.ttlMs,
    };
    const stored: StoredSession = {
      user: s.user,
      csrf: s.csrf,
      created: s.created,
      expires: s.expires,
      pw: passwordDigest(account),
    };
    await this.store.kvSet(keyOf(s.id), JSON.stringify(stored), s.expires);
    return s;
  }

  async load(id: string | undefined): Promise<Session | null> {
    if (!id || id.length > 100) return null;
    const raw = await this.store.kvGet(keyOf(id));
    if (!raw) return null;
    let stored: StoredSession;
    try {
      stored = JSON.parse(raw) as StoredSession;
    } catch {
      return null;
    }
    if (stored.expires <= this.now()) return null;
    const account = await this.store.getAccount(stored.user);
    if (!account || passwordDigest(account) !== stored.pw) {
      await this.store.kvDelete(keyOf(id));
      return null;
    }
    return {
      id,
      user: stored.user,
      csrf: stored.csrf,
      created: stored.created,
      expires: stored.expires,
    };
  }

  async destroy(id: string): Promise<void> {
    await this.store.kvDelete(keyOf(id));
  }

  /** The request's session, or null (no cookie, unknown, expired). */
  async fromRequest(req: FastifyRequest): Promise<Session | null> {
    return this.load(req.cookies[SESSION_COOKIE]);
  }

  setCookie(req: FastifyRequest, reply: FastifyReply, s: Session): void {
    reply.setCookie(SESSION_COOKIE, s.id, cookieOptions(req, Math.floor(this.ttlMs / 1000)));
  }

  clearCookie(req: FastifyRequest, reply: FastifyReply): void {
    reply.clearCookie(SESSION_COOKIE, cookieOptions(req));
  }
}
