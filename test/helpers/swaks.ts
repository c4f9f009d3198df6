/**
 * swaks, the SMTP test client, run non-interactively (its stdin is the given input or empty).
 * Always pass --server: without it swaks would look up MX records through the system resolver.
 */
import { spawn } from 'node:child_process';
import { childEnv, trackChild } from './procs.js';

export interface SwaksResult {
  /** swaks' exit code (0 ok; 2x connection/greeting/EHLO problems; 23-25 MAIL/RCPT/DATA refused). */
  code: number | null;
  /** The whole transcript (stdout, then stderr). */
  out: string;
  /** Server lines with their transcript prefix ("<-  ", "<~  ", "<** ", "<~* ") stripped. */
  replies: string[];
  /** The last server reply line before QUIT (or the last one at all), e.g. "250 2.0.0 Ok: queued as X". */
  last: string;
}

interface Line {
  from: 'server' | 'client' | 'other';
  text: string;
}

const SERVER = /^(<-  |<~  |<\*\* |<~\* )(.*)$/;
const CLIENT = /^ (->|~>|\*\*|~\*) (.*)$/;

function transcript(out: string): Line[] {
  return out.split(/\r?\n/).map((l): Line => {
    let m = SERVER.exec(l);
    if (m) return { from: 'server', text: m[2]! };
    m = CLIENT.exec(l);
    if (m) return { from: 'client', text: m[2]! };
    return { from: 'other', text: l };
  });
}

export function swaks(args: string[], opts: { input?: string; timeout?: number } = {}): Promise<SwaksResult> {
  if (!args.some((a) => a === '--server' || a === '-s' || a.startsWith('--server='))) {
    return Promise.reject(new Error('swaks needs --server (test domains must not be looked up in the system DNS)'));
  }
  return new Promise((resolve, reject) => {
    const child = trackChild(spawn('swaks', args, { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const out = stdout + stderr;
      const lines = transcript(out);
      const replies = lines.filter((l) => l.from === 'server').map((l) => l.text);
      const quit = lines.findIndex((l) => l.from === 'client' && /^QUIT\b/i.test(l.text));
      const before = (quit < 0 ? lines : lines.slice(0, quit)).filter((l) => l.from === 'server');
      resolve({ code, out, replies, last: before.length ? before[before.length - 1]!.text : '' });
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}

/**
 * The server's reply to the first client line starting with `commandPrefix` (case-insensitive),
 * e.g. serverReplyAfter(r, 'RCPT') -> "550 5.7.1 ...". For a multi-line reply, its last line;
 * for DATA the reply after the message (not the 354);
 * '' when the command was not sent or got no reply. Not meant for --pipeline transcripts.
 */
export function serverReplyAfter(result: SwaksResult | string, commandPrefix: string): string {
  const lines = transcript(typeof result === 'string' ? result : result.out);
  const p = commandPrefix.toUpperCase();
  const i = lines.findIndex((l) => l.from === 'client' && l.text.toUpperCase().startsWith(p));
  if (i < 0) return '';
  let reply = '';
  for (let k = i + 1; k < lines.length; k++) {
    const l = lines[k]!;
    if (l.from === 'client') {
      if (reply) break;
      continue; // e.g. the message lines after DATA's 354 come before the final reply
    }
    if (l.from === 'server') {
      reply = l.text;
      if (/^354(\s|$)/.test(l.text)) reply = ''; // DATA: the reply that counts follows the message
      else if (/^\d{3}(\s|$)/.test(l.text)) break;
    }
  }
  return reply;
}

/** Every server reply to client lines starting with `commandPrefix`, in order (e.g. each RCPT). */
export function serverRepliesAfter(result: SwaksResult | string, commandPrefix: string): string[] {
  const lines = transcript(typeof result === 'string' ? result : result.out);
  const p = commandPrefix.toUpperCase();
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.from !== 'client' || !l.text.toUpperCase().startsWith(p)) continue;
    for (let k = i + 1; k < lines.length; k++) {
      const s = lines[k]!;
      if (s.from === 'client' && !/^DATA/.test(p)) break;
      if (s.from === 'server' && /^\d{3}(\s|$)/.test(s.text) && !/^354/.test(s.text)) {
        out.push(s.text);
        break;
      }
    }
  }
  return out;
}
