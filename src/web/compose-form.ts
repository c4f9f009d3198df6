/**
 * The compose form as data: reading the fields, checking them, and building the message with
 * nodemailer's MailComposer (which encodes non-ASCII subjects and names per RFC 2047 and
 * attachment names per RFC 2231). Header injection is impossible by construction: a CR or LF
 * in an address field is refused, and in the subject it is replaced by a space, before any
 * value reaches a header. Bcc addresses go to the envelope only; MailComposer leaves the Bcc
 * header out of the built message.
 */
import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import MailComposer from 'nodemailer/lib/mail-composer';

export const ADDRESS_FIELDS = ['to', 'cc', 'bcc'] as const;
export type AddressField = (typeof ADDRESS_FIELDS)[number];
export type FieldName = AddressField | 'subject' | 'message' | 'attachments';

export interface ComposeFields {
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  message: string;
}

export interface Attachment {
  filename: string;
  content: Buffer;
}

export interface Mailbox {
  name: string;
  address: string;
}

export interface ValidCompose {
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  subject: string;
  text: string;
}

export type FieldErrors = Partial<Record<FieldName, string>>;

export const LABELS: Record<FieldName, string> = {
  to: 'To',
  cc: 'Cc',
  bcc: 'Bcc',
  subject: 'Subject',
  message: 'Message',
  attachments: 'Attachments',
};

const MAX_SUBJECT = 900;

export function emptyFields(): ComposeFields {
  return { to: '', cc: '', bcc: '', subject: '', message: '' };
}

/** Checks the fields; either the cleaned values or one error per field that is wrong. */
export function validateCompose(
  f: ComposeFields,
): { ok: true; value: ValidCompose } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const lists: Record<AddressField, Mailbox[]> = { to: [], cc: [], bcc: [] };
  for (const field of ADDRESS_FIELDS) {
    const r = parseAddressList(f[field]);
    if (typeof r === 'string') errors[field] = r;
    else lists[field] = r;
  }
  if (
    !errors.to &&
    !errors.cc &&
    !errors.bcc &&
    lists.to.length + lists.cc.length + lists.bcc.length === 0
  ) {
    errors.to = 'Enter at least one recipient in To, Cc or Bcc.';
  }
  const subject = cleanSubject(f.subject);
  if (subject.length > MAX_SUBJECT)
    errors.subject = `The subject is too long (at most ${MAX_SUBJECT} characters).`;
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: { ...lists, subject, text: f.message } };
}

/**
 * A header value must stay on its own line: CR and LF (and other control characters, which
 * have no place in a subject) become spaces.
 */
export function cleanSubject(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000a-\u001f\u007f]+/g, ' ').trim();
}

/** "Ann <ann@x.example>, bob@y.example" -> mailboxes, or a sentence saying what is wrong. */
export function parseAddressList(input: string): Mailbox[] | string {
  if (/[\r\n]/.test(input))
    return 'Line breaks are not allowed here; separate addresses with commas.';
  if (input.trim() === '') return [];
  const out: Mailbox[] = [];
  for (const entry of addressparser(input)) {
    if ('group' in entry && entry.group)
      return 'Address groups ("name: ...;") are not supported; list the addresses.';
    const a = entry as { name: string; address: string };
    const address = normalizeAddress(a.address ?? '');
    if (!address) {
      const shown = (a.address || a.name || '').trim();
      return shown
        ? `"${shown}" is not a valid email address.`
        : 'An address is empty; check the commas.';
    }
    out.push({ name: cleanSubject(a.name ?? ''), address });
  }
  return out;
}

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * The address in the form it goes into the envelope, or null. The local part must be ASCII
 * (RFC 5321 without SMTPUTF8); an internationalised domain is converted to its A-labels.
 */
export function normalizeAddress(addr: string): string | null {
  const at = addr.lastIndexOf('@');
  if (at <= 0 || at === addr.length - 1) return null;
  const local = addr.slice(0, at);
  const domain = domainToASCII(addr.slice(at + 1).toLowerCase());
  if (local.length > 64 || !LOCAL_PART.test(local)) return null;
  if (!domain || domain.length > 253) return null;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return null;
  return `${local}@${domain}`;
}

/** The envelope recipients: every To, Cc and Bcc address once, in that order. */
export function envelopeRecipients(v: ValidCompose): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const m of [...v.to, ...v.cc, ...v.bcc]) {
    const key = m.address.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(m.address);
  }
  return out;
}

/** A file name as a header parameter: no path, no control characters. */
export function cleanFilename(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  return cleanSubject(base).slice(0, 200) || 'attachment';
}

/** Builds the message (CRLF line ends) as it will be submitted. */
export async function buildMessage(
  from: string,
  v: ValidCompose,
  attachments: Attachment[],
): Promise<Buffer> {
  const composer = new MailComposer({
    from,
    to: v.to,
    cc: v.cc,
    bcc: v.bcc,
    subject: v.subject,
    text: v.text.replace(/\r\n?/g, '\n'),
    // The content type is taken from the file name; the browser's claim is not passed on.
    attachments: attachments.map((a) => ({
      filename: cleanFilename(a.filename),
      content: a.content,
    })),
  });
  return composer.compile().build();
}
