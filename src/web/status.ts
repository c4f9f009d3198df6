/**
 * "Where is my email?": the logged-in mailbox's recent messages with every recipient's
 * state, for the sent page and its JSON endpoint. The detail sentence for each recipient is
 * made here, once, so the page and the live updates say the same thing.
 */
import libmime from 'libmime';
import type { MessageRow, RecipientRow, RecipientState, Store } from '../store/store.js';
import { formatTime } from './html.js';

export interface RecipientStatus {
  id: number;
  address: string;
  state: RecipientState;
  attempts: number;
  lastReply: string | null;
  nextAttempt: number | null;
  doneAt: number | null;
  /** The host that took the message (delivered) or answered last. */
  host: string | null;
  /** One sentence for a person, e.g. "Delivered 2026-12-03 13:54 UTC to mx.example.net." */
  detail: string;
}

export interface MessageStatus {
  id: string;
  created: number;
  subject: string;
  recipients: RecipientStatus[];
}

export const SENT_LIMIT = 30;

/** Subjects never change once queued; bodies are read once per node, then remembered. */
const subjects = new Map<string, string>();
const SUBJECT_CACHE = 2000;

export async function sentStatus(
  store: Store,
  user: string,
  limit = SENT_LIMIT,
): Promise<MessageStatus[]> {
  const rows = await store.listMessages({ authUser: user, limit });
  const out: MessageStatus[] = [];
  for (const m of rows) {
    if (m.kind !== 'message') continue;
    out.push({
      id: m.id,
      created: m.created,
      subject: await subjectOf(store, m.id),
      recipients: await recipientsOf(store, m),
    });
  }
  return out;
}

async function recipientsOf(store: Store, m: MessageRow): Promise<RecipientStatus[]> {
  // The attempt history tells which host took or refused the message; read it only when
  // an attempt was made.
  const tried = m.recipients.some(
    (r) => r.attempts > 0 || r.state === 'delivered' || r.state === 'bounced',
  );
  const attempts = tried ? await store.attempts(m.id) : [];
  return m.recipients.map((r) => {
    const last = attempts.filter((a) => a.recipients.includes(r.address)).at(-1);
    const host = last?.host ?? null;
    return {
      id: r.id,
      address: r.address,
      state: r.state,
      attempts: r.attempts,
      lastReply: r.lastReply,
      nextAttempt: r.nextAttempt,
      doneAt: r.doneAt,
      host,
      detail: detailOf(r, host),
    };
  });
}

export function detailOf(r: RecipientRow, host: string | null): string {
  const reply = r.lastReply ? oneLine(r.lastReply) : null;
  switch (r.state) {
    case 'queued':
      if (r.leaseOwner) return 'Being delivered now.';
      return r.attempts === 0
        ? 'Waiting for the first delivery attempt.'
        : 'Waiting for the next delivery attempt.';
    case 'deferred': {
      const parts = [
        `Not delivered yet after ${r.attempts} ${r.attempts === 1 ? 'attempt' : 'attempts'}.`,
      ];
      if (reply) parts.push(`Last reply${host ? ` from ${host}` : ''}: ${reply}.`);
      if (r.nextAttempt) parts.push(`Next attempt ${formatTime(r.nextAttempt)}.`);
      return parts.join(' ');
    }
    case 'delivered':
      return `Delivered${r.doneAt ? ` ${formatTime(r.doneAt)}` : ''}${host ? ` to ${host}` : ''}.`;
    case 'bounced':
      return `Not delivered: ${reply ?? 'the message was refused'}.`;
    case 'held':
      return 'Held by the postmaster; it will not be sent until it is released.';
  }
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
}

async function subjectOf(store: Store, id: string): Promise<string> {
  const cached = subjects.get(id);
  if (cached !== undefined) return cached;
  const body = await store.readBody(id);
  // The body is dropped once every recipient is final; the subject is then unknown unless
  // this node saw the message earlier.
  if (!body) return '';
  const subject = headerValue(body, 'subject');
  if (subjects.size >= SUBJECT_CACHE) subjects.delete(subjects.keys().next().value!);
  subjects.set(id, subject);
  return subject;
}

/** The decoded value of the first header `name` (RFC 5322 unfolding, RFC 2047 words). */
export function headerValue(message: Buffer, name: string): string {
  const end = message.indexOf('\r\n\r\n');
  const head = message
    .subarray(0, end < 0 ? Math.min(message.length, 65536) : end)
    .toString('utf8');
  const unfolded = head.replace(/\r\n([ \t])/g, '$1');
  const prefix = name.toLowerCase() + ':';
  const line = unfolded.split('\r\n').find((l) => l.toLowerCase().startsWith(prefix));
  if (!line) return '';
  return libmime.decodeWords(line.slice(prefix.length).trim());
}
