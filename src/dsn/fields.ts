/**
 * The machine-readable part of a delivery status notification: the message/delivery-status
 * body of RFC 3464 section 2, one block of per-message fields and one block per recipient.
 */
import { formatRemoteReply, type RemoteReply } from '../delivery/outcome.js';

export type NoticeAction = 'failed' | 'delayed' | 'delivered';

export interface NoticeRecipient {
  /** The address the gateway tried (Final-Recipient). */
  address: string;
  /** Decoded ORCPT as given at submission, "rfc822;ann@example.net". */
  orcpt: string | null;
  action: NoticeAction;
  /** RFC 3463 status, e.g. "5.1.1". */
  status: string;
  reply: RemoteReply;
  /** The remote MTA that gave the reply; null when none was reached. */
  mx: string | null;
  ip: string | null;
  lastAttempt: number | null;
  /** Delay notices: when the gateway gives up. */
  willRetryUntil?: number | null;
}

export interface DeliveryStatusInput {
  reportingMta: string;
  queueId: string;
  envid: string | null;
  arrival: number;
  recipients: NoticeRecipient[];
}

export function deliveryStatus(input: DeliveryStatusInput): string {
  const blocks: string[][] = [];
  const head = [`Reporting-MTA: dns; ${input.reportingMta}`, `X-Outpost-Queue-ID: ${input.queueId}`];
  if (input.envid) head.push(`Original-Envelope-Id: ${clean(input.envid)}`);
  head.push(`Arrival-Date: ${rfc5322Date(input.arrival)}`);
  blocks.push(head);

  for (const r of input.recipients) {
    const b: string[] = [];
    const orcpt = splitOrcpt(r.orcpt);
    if (orcpt) b.push(`Original-Recipient: ${orcpt.type}; ${clean(orcpt.address)}`);
    b.push(`Final-Recipient: rfc822; ${clean(r.address)}`);
    b.push(`Action: ${r.action}`);
    b.push(`Status: ${r.status}`);
    if (r.mx) b.push(`Remote-MTA: dns; ${clean(r.mx)}`);
    // RFC 3464 2.3.6: "smtp" when the text is the remote server's reply; anything the gateway
    // concluded itself (DNS, connection, time-out) is marked as its own diagnostic.
    const diag = r.reply.source === 'remote' ? `smtp; ${formatRemoteReply(r.reply)}` : `X-Outpost; ${r.reply.text}`;
    b.push(`Diagnostic-Code: ${clean(diag)}`);
    if (r.lastAttempt !== null) b.push(`Last-Attempt-Date: ${rfc5322Date(r.lastAttempt)}`);
    if (r.action === 'delayed' && r.willRetryUntil) b.push(`Will-Retry-Until: ${rfc5322Date(r.willRetryUntil)}`);
    blocks.push(b);
  }
  return blocks.map((b) => b.map(fold).join('\r\n') + '\r\n').join('\r\n');
}

/** "rfc822;ann@example.net" -> { type: 'rfc822', address: 'ann@example.net' }. */
export function splitOrcpt(orcpt: string | null): { type: string; address: string } | null {
  if (!orcpt) return null;
  const semi = orcpt.indexOf(';');
  if (semi <= 0) return null;
  return { type: orcpt.slice(0, semi).trim(), address: orcpt.slice(semi + 1).trim() };
}

/** RFC 5322 date-time in UTC, e.g. "Thu, 03 Dec 2026 10:00:00 +0000". */
export function rfc5322Date(ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, '+0000');
}

/** Field values are one logical line: no control characters from remote replies. */
function clean(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
}

/** Folds a long field at spaces (RFC 5322 2.2.3), so lines stay near 78 octets. */
function fold(line: string): string {
  if (line.length <= 78) return line;
  const words = line.split(' ');
  const out: string[] = [];
  let cur = words.shift()!;
  for (const w of words) {
    if (cur.length + 1 + w.length > 78 && cur.trim().length > 0) {
      out.push(cur);
      cur = ' ' + w;
    } else {
      cur += ' ' + w;
    }
  }
  out.push(cur);
  return out.join('\r\n');
}
