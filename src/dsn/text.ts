/**
 * The human-readable part of a notice: what happened, what the remote server said, and for a
 * delay, until when the gateway keeps trying. Plain sentences for the sender, who may never
 * have heard of SMTP codes; the codes are there too, for whoever helps them.
 */
import { formatDuration } from '../config/units.js';
import { formatRemoteReply } from '../delivery/outcome.js';
import { rfc5322Date, type NoticeAction, type NoticeRecipient } from './fields.js';

export interface TextInput {
  action: NoticeAction;
  hostname: string;
  queueId: string;
  subject: string | null;
  arrival: number;
  now: number;
  /** Failures after the schedule ran out say how long the gateway tried. */
  expired: boolean;
  /** RET=FULL on a failure: the whole message is attached, else only its headers. */
  fullMessage: boolean;
  recipients: NoticeRecipient[];
}

export function noticeSubject(action: NoticeAction, subject: string | null): string {
  const what = subject ? `: ${subject}` : '';
  if (action === 'failed') return `Undeliverable${what}`;
  if (action === 'delayed') return `Delivery delayed${what}`;
  return `Delivered${what}`;
}

export function humanText(t: TextInput): string {
  const out: string[] = [`This is the mail gateway ${t.hostname}.`, ''];
  const about = `Your message${t.subject ? ` "${t.subject}"` : ''}, accepted on ${rfc5322Date(t.arrival)} ` +
    `(queue id ${t.queueId}),`;
  const many = t.recipients.length > 1;

  if (t.action === 'failed') {
    out.push(`${about} could not be delivered to the following ${many ? 'recipients' : 'recipient'}.`);
    out.push(t.expired
      ? `The gateway kept trying for ${roughly(t.now - t.arrival)} and has now given up.`
      : 'The refusal is permanent, so the gateway will not try again.');
  } else if (t.action === 'delayed') {
    out.push(`${about} has not yet been delivered to the following ${many ? 'recipients' : 'recipient'}.`);
    const until = t.recipients[0]?.willRetryUntil;
    out.push('The gateway keeps trying on its own; you do not need to send the message again.');
    if (until) {
      out.push(`If it still cannot be delivered by ${rfc5322Date(until)} ` +
        `(in ${roughly(until - t.now)}), the gateway gives up and tells you.`);
    }
  } else {
    out.push(`${about} was delivered to the following ${many ? 'recipients' : 'recipient'}, as you asked to be told.`);
  }
  out.push('');

  for (const r of t.recipients) {
    out.push(`<${r.address}>`);
    out.push(`    ${explain(r)}`);
    out.push('');
  }

  if (t.action === 'failed') {
    out.push(t.fullMessage ? 'Your message is attached.' : 'The headers of your message are attached.');
  } else {
    out.push('The headers of your message are attached.');
  }
  return out.join('\r\n') + '\r\n';
}

function explain(r: NoticeRecipient): string {
  const server = r.mx ? `${r.mx}${r.ip && r.ip !== r.mx ? ` [${r.ip}]` : ''}` : null;
  const said = formatRemoteReply(r.reply);
  if (r.reply.source === 'local') {
    return server ? `Trying ${server}: ${r.reply.text}` : r.reply.text;
  }
  const who = server ? `The recipient's mail server ${server}` : "The recipient's mail server";
  if (r.action === 'delivered') return `Accepted by ${server ?? 'the remote server'}, which said:\r\n    ${said}`;
  // A failure with a temporary reply: the schedule ran out while the server kept saying "later".
  if (r.action === 'failed' && r.reply.code < 500) return `${who} kept answering, last:\r\n    ${said}`;
  if (r.action === 'failed') return `${who} refused it and said:\r\n    ${said}`;
  return `${who} answered:\r\n    ${said}`;
}

/** A duration for people: whole seconds under a minute, whole minutes under an hour, else hours. */
function roughly(ms: number): string {
  const unit = ms < 60_000 ? 1000 : ms < 3_600_000 ? 60_000 : 3_600_000;
  return formatDuration(Math.max(unit, Math.round(ms / unit) * unit));
}
