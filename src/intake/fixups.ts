/**
 * Submission fix-ups (RFC 6409 section 8): the trace header every relay adds (RFC 5321
 * section 4.4), and Message-ID and Date when the client left them out (section 8.2, 8.3).
 * Everything is put in front of the message as the client sent it, so the original bytes
 * stay untouched after the added lines (and, see headroom.ts, the message is not copied).
 */
import { isIPv6 } from 'node:net';
import { prepend } from './headroom.js';
import type { Submission } from './types.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Looking further than this for the end of the header section is not worth it. */
const HEADER_SCAN_LIMIT = 256 * 1024;

/** RFC 5322 section 3.3 date-time, in UTC: "Thu, 03 Dec 2026 13:54:00 +0000". */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Which of the headers RFC 6409 lets the MSA add are already there. */
export function presentHeaders(message: Buffer): { messageId: boolean; date: boolean } {
  // A message that starts with an empty line has no header section at all.
  if (message[0] === 0x0d && message[1] === 0x0a) return { messageId: false, date: false };
  const end = message.indexOf('\r\n\r\n');
  const limit = end >= 0 ? end + 2 : Math.min(message.length, HEADER_SCAN_LIMIT);
  // Header field names are ASCII; latin1 keeps every byte as one character.
  const head = '\r\n' + message.subarray(0, Math.min(limit, HEADER_SCAN_LIMIT)).toString('latin1');
  return {
    messageId: /\r\nmessage-id[ \t]*:/i.test(head),
    date: /\r\ndate[ \t]*:/i.test(head),
  };
}

/** Control characters would end the header line early or smuggle a new one. */
const clean = (s: string) => s.replace(/[\x00-\x1f\x7f]+/g, ' ');

export function receivedHeader(sub: Submission, hostname: string, queueId: string, now: number): string {
  const ip = isIPv6(sub.clientIp) ? `IPv6:${sub.clientIp}` : sub.clientIp;
  const rdns = sub.clientHostname && !sub.clientHostname.startsWith('[') ? `${clean(sub.clientHostname)} ` : '';
  // RFC 6531 section 3.7.3: a message with SMTPUTF8 is received "with UTF8SMTP[S][A]".
  const protocol = sub.smtputf8 && sub.protocol.startsWith('ESMTP')
    ? `UTF8SMTP${sub.protocol.slice(5)}`
    : sub.protocol;
  let h = `Received: from ${clean(sub.heloName) || 'unknown'} (${rdns}[${ip}])\r\n` +
    `\tby ${hostname} (Outpost) with ${protocol} id ${queueId}`;
  if (sub.tlsInfo) h += `\r\n\t(version=${clean(sub.tlsInfo.version)} cipher=${clean(sub.tlsInfo.cipher)})`;
  // One recipient only: naming them all would show Bcc recipients to each other.
  if (sub.recipients.length === 1) h += `\r\n\tfor <${clean(sub.recipients[0]!.address)}>`;
  return `${h}; ${rfc5322Date(now)}\r\n`;
}

export interface FixupInput {
  sub: Submission;
  message: Buffer;
  queueId: string;
  hostname: string;
  now: number;
  /** Headers from scanners (e.g. X-Spam-Score), added below the Received line. */
  extraHeaders?: Array<[string, string]>;
}

/** The message as it is queued: added header lines, then the client's bytes unchanged. */
export function applyFixups({ sub, message, queueId, hostname, now, extraHeaders = [] }: FixupInput): Buffer {
  let head = receivedHeader(sub, hostname, queueId, now);
  for (const [name, value] of extraHeaders) head += `${clean(name)}: ${clean(value)}\r\n`;
  const present = presentHeaders(message);
  if (!present.messageId) head += `Message-ID: <${queueId}@${hostname}>\r\n`;
  if (!present.date) head += `Date: ${rfc5322Date(now)}\r\n`;
  return prepend(Buffer.from(head, 'utf8'), message);
}
