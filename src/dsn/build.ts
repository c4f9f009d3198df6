/**
 * Builds a delivery status notification (RFC 3464): multipart/report; report-type=
 * delivery-status, made of a human-readable text, the message/delivery-status fields and the
 * original message (message/rfc822 for a failure with RET=FULL) or its headers
 * (text/rfc822-headers: RET=HDRS, no RET, delay and success notices). The MIME tree comes
 * from nodemailer's MailComposer; only the root's type is changed to multipart/report.
 *
 * From MAILER-DAEMON@<hostname>; the envelope sender is the null reverse-path (RFC 3461 6.2,
 * RFC 5321 4.5.5), which the caller sets when queueing it.
 */
import libmime from 'libmime';
import MailComposer from 'nodemailer/lib/mail-composer';
import { deliveryStatus, type NoticeAction, type NoticeRecipient } from './fields.js';
import { humanText, noticeSubject } from './text.js';

export interface NoticeInput {
  action: NoticeAction;
  hostname: string;
  /** The notice's own Message-ID (without brackets). */
  messageId: string;
  original: {
    id: string;
    sender: string;
    created: number;
    envid: string | null;
    ret: 'FULL' | 'HDRS' | null;
    /** The bytes as queued; null when they are gone (only the headers part is then empty). */
    body: Buffer | null;
  };
  recipients: NoticeRecipient[];
  /** A failure because the retry schedule ran out. */
  expired: boolean;
  now: number;
}

export async function buildNotice(n: NoticeInput): Promise<Buffer> {
  const body = n.original.body ?? Buffer.alloc(0);
  const headers = headerBlock(body);
  const subject = originalSubject(headers);
  const full = n.action === 'failed' && n.original.ret === 'FULL' && n.original.body !== null;

  const text = humanText({
    action: n.action,
    hostname: n.hostname,
    queueId: n.original.id,
    subject,
    arrival: n.original.created,
    now: n.now,
    expired: n.expired,
    fullMessage: full,
    recipients: n.recipients,
  });
  const status = deliveryStatus({
    reportingMta: n.hostname,
    queueId: n.original.id,
    envid: n.original.envid,
    arrival: n.original.created,
    recipients: n.recipients,
  });

  const extra: Record<string, string> = { 'Auto-Submitted': 'auto-replied' };
  if (n.original.envid) extra['X-Original-Envelope-Id'] = n.original.envid.replace(/[\r\n]+/g, ' ');

  const composer = new MailComposer({
    from: { name: 'Mail Delivery System', address: `MAILER-DAEMON@${n.hostname}` },
    to: n.original.sender,
    subject: noticeSubject(n.action, subject),
    date: new Date(n.now),
    messageId: `<${n.messageId}>`,
    headers: extra,
    text,
    attachments: [
      {
        contentType: 'message/delivery-status',
        content: status,
        contentTransferEncoding: '7bit',
        contentDisposition: 'inline',
        filename: false,
      },
      full
        ? {
            contentType: 'message/rfc822',
            content: body,
            contentTransferEncoding: isSevenBit(body) ? '7bit' : '8bit',
            contentDisposition: 'inline',
            filename: false,
          }
        : {
            contentType: 'text/rfc822-headers',
            content: headers,
            contentTransferEncoding: isSevenBit(headers) ? '7bit' : '8bit',
            contentDisposition: 'inline',
            filename: false,
          },
    ],
  });
  const root = composer.compile();
  // RFC 3462 (RFC 6522): the report type names the machine-readable part that follows.
  root.setHeader('Content-Type', 'multipart/report; report-type=delivery-status');
  return root.build();
}

/** The original's header block, with the line end that closes it. */
export function headerBlock(body: Buffer): Buffer {
  const end = body.indexOf('\r\n\r\n');
  return end < 0 ? Buffer.concat([body, body.subarray(-2).equals(Buffer.from('\r\n')) ? Buffer.alloc(0) : Buffer.from('\r\n')])
    : body.subarray(0, end + 2);
}

/** The original Subject, decoded and cut to a readable length; null when it has none. */
export function originalSubject(headers: Buffer): string | null {
  const m = /^subject:[ \t]*((?:.*)(?:\r\n[ \t].*)*)/im.exec(headers.toString('utf8'));
  if (!m) return null;
  let s = m[1]!.replace(/\r\n[ \t]/g, ' ');
  if (s.length > 2000) s = s.slice(0, 2000);
  try {
    s = libmime.decodeWords(s);
  } catch {
    // keep the raw text
  }
  s = s.replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/\s+/g, ' ').trim();
  if (!s) return null;
  return s.length > 100 ? s.slice(0, 97) + '...' : s;
}

function isSevenBit(b: Buffer): boolean {
  for (const c of b) if (c > 0x7f || c === 0) return false;
  return true;
}
