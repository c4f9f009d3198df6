/**
 * rspamd, asked over its HTTP protocol: POST /checkv2 with the message as the body and the
 * envelope in headers (IP, Helo, From, one Rcpt per recipient, User for a logged-in client).
 * The answer is JSON with the score and rspamd's own action.
 *
 * A message is refused (550 5.7.1) when its score reaches scan.rspamd.reject_score or rspamd
 * itself says "reject" (GTUBE, for one, forces that); otherwise it passes, carrying its score
 * for the spam restriction and, with add_header, an X-Spam-Score header. An unreachable or
 * slow rspamd gives 451 4.7.1 unless fail_open.
 */
import http from 'node:http';
import https from 'node:https';
import { maillog } from '../maillog/log.js';
import { replies } from '../reply/reply.js';
import type { ScanEnvelope, ScanVerdict, Scanner } from './scanner.js';

export interface RspamdOptions {
  /** Base URL ("http://127.0.0.1:11333") or the full /checkv2 URL. */
  url: string;
  rejectScore: number;
  addHeader: boolean;
  timeoutMs: number;
  failOpen: boolean;
}

export interface RspamdResult {
  score: number;
  requiredScore: number | null;
  action: string;
  symbols: string[];
}

/** The largest answer we read: rspamd's JSON with all symbols is a few KB. */
const MAX_ANSWER = 1024 * 1024;

export class RspamdScanner implements Scanner {
  readonly name = 'rspamd';
  private readonly endpoint: URL;

  constructor(private readonly opts: RspamdOptions) {
    this.endpoint = checkUrl(opts.url);
  }

  get failOpen(): boolean {
    return this.opts.failOpen;
  }

  async scan(message: Buffer, envelope: ScanEnvelope): Promise<ScanVerdict> {
    let result: RspamdResult;
    try {
      result = await check(this.endpoint, message, envelope, this.opts.timeoutMs);
    } catch (err) {
      const error = (err as Error).message;
      maillog.scanFailed({ sid: envelope.sessionId }, this.name, {
        url: this.endpoint.href,
        error,
        fail_open: this.opts.failOpen,
      });
      if (this.opts.failOpen) return { kind: 'clean' };
      return { kind: 'unavailable', reply: replies.scannerUnavailable(this.name), detail: error };
    }
    const score = result.score;
    const shown = score.toFixed(2);
    if (result.action === 'reject' || score >= this.opts.rejectScore) {
      const detail = `score ${shown}, limit ${this.opts.rejectScore}`;
      return {
        kind: 'reject',
        reason: 'spam',
        reply: replies.spam(detail),
        score,
        detail: `${detail}; action ${result.action}; ${result.symbols.join(',')}`,
      };
    }
    return {
      kind: 'clean',
      score,
      ...(this.opts.addHeader ? { headers: [['X-Spam-Score', shown] as [string, string]] } : {}),
    };
  }
}

/** "http://host:port" gets rspamd's scan path; a URL with a path is used as given. */
export function checkUrl(url: string): URL {
  const u = new URL(url);
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/checkv2';
  return u;
}

export function check(endpoint: URL, message: Buffer, env: ScanEnvelope, timeoutMs: number): Promise<RspamdResult> {
  const headers: http.OutgoingHttpHeaders = {
    'Content-Type': 'message/rfc822',
    'Content-Length': message.length,
    IP: env.clientIp,
    From: env.sender,
    // One Rcpt header per recipient, as rspamc sends them.
    Rcpt: env.recipients,
  };
  if (env.heloName) headers.Helo = env.heloName;
  if (env.authUser) headers.User = env.authUser;
  const client = endpoint.protocol === 'https:' ? https : http;

  return new Promise((resolve, reject) => {
    const req = client.request(endpoint, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_ANSWER) req.destroy(new Error('answer too large'));
        else chunks.push(d);
      });
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) {
          reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          return;
        }
        try {
          resolve(parseAnswer(text));
        } catch (err) {
          reject(err);
        }
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // The message Buffer is the body as it is: no copy.
    req.end(message);
  });
}

export function parseAnswer(text: string): RspamdResult {
  const j = JSON.parse(text) as Record<string, unknown>;
  if (typeof j.score !== 'number' || typeof j.action !== 'string') {
    throw new Error(`unexpected answer: ${text.slice(0, 200)}`);
  }
  return {
    score: j.score,
    requiredScore: typeof j.required_score === 'number' ? j.required_score : null,
    action: j.action,
    symbols: j.symbols && typeof j.symbols === 'object' ? Object.keys(j.symbols) : [],
  };
}
