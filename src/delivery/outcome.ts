/**
 * What a delivery attempt returns for each recipient: delivered, deferred or failed, with the
 * reply that decided it, the MX host and address that gave it and whether TLS was on. These
 * are values; delivery never throws for a remote problem and never decides about retries.
 *
 * A reply either came from the remote server (`source: 'remote'`, text as the server gave it)
 * or was made here for a condition with no server reply: a refused connection, a time-out, a
 * DNS failure (`source: 'local'`). Notices cite the first as `smtp;` diagnostics.
 */

export interface RemoteReply {
  code: number;
  /** RFC 3463 code as the server gave it; null when it gave none. */
  enhanced: string | null;
  /** The text after the codes; multi-line replies joined with a space. */
  text: string;
  source: 'remote' | 'local';
}

export type OutcomeKind = 'delivered' | 'deferred' | 'failed';

export interface RecipientOutcome {
  address: string;
  kind: OutcomeKind;
  reply: RemoteReply;
  /** The MX host name (or the route's host) that answered; null when none was reached. */
  mx: string | null;
  ip: string | null;
  tls: boolean;
}

export function localReply(code: number, enhanced: string, text: string): RemoteReply {
  return { code, enhanced, text, source: 'local' };
}

/** The kind a reply means for one recipient: 2xx delivered, 5xx failed, anything else deferred. */
export function kindOf(reply: RemoteReply): OutcomeKind {
  if (reply.code >= 200 && reply.code < 300) return 'delivered';
  if (reply.code >= 500 && reply.code < 600) return 'failed';
  return 'deferred';
}

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)/;

/**
 * Parses a reply as the SMTP client hands it over ("250-a\n250 b"). The code comes from the
 * first line; the enhanced code from the first line that has one (RFC 2034 puts it on every
 * line); the text is every line without its codes.
 */
export function parseReply(raw: string): RemoteReply | null {
  const lines = raw.split(/\r?\n/).filter((l) => l.length > 0);
  const first = /^(\d{3})(?:[ -]|$)/.exec(lines[0] ?? '');
  if (!first) return null;
  const code = Number(first[1]);
  let enhanced: string | null = null;
  const texts: string[] = [];
  for (const line of lines) {
    let rest = /^\d{3}[ -]?/.test(line) ? line.replace(/^\d{3}[ -]?/, '') : line;
    const m = ENHANCED.exec(rest);
    if (m) {
      enhanced ??= m[0];
      rest = rest.slice(m[0].length).trimStart();
    }
    texts.push(rest.trim());
  }
  return { code, enhanced, text: texts.filter(Boolean).join(' '), source: 'remote' };
}

/** "550 5.1.1 No such user", the form used in logs, `queue show` and Diagnostic-Code. */
export function formatRemoteReply(r: RemoteReply): string {
  return [String(r.code), r.enhanced, r.text].filter((p) => p !== null && p !== '').join(' ');
}

/**
 * The RFC 3463 status for a notice. A server that gave no enhanced code, or one whose class
 * disagrees with what happened (a 5xx greeting that only made us defer), gets the class of
 * the outcome with the detail kept where it fits.
 */
export function statusOf(kind: OutcomeKind, reply: RemoteReply): string {
  const cls = kind === 'delivered' ? '2' : kind === 'failed' ? '5' : '4';
  if (reply.enhanced) return cls + reply.enhanced.slice(1);
  return `${cls}.0.0`;
}
