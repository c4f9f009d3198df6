/**
 * SMTP replies as data: a basic code, an RFC 3463 enhanced code and a human sentence. Every
 * refusal the gateway gives is built here, so the codes live in one place.
 */

export type EnhancedCode = `${2 | 4 | 5}.${number}.${number}`;

export interface Reply {
  code: number;
  enhanced: EnhancedCode;
  text: string;
}

export function reply(code: number, enhanced: EnhancedCode, text: string): Reply {
  return { code, enhanced, text };
}

export function formatReply(r: Reply): string {
  return `${r.code} ${r.enhanced} ${r.text}`;
}

export const isTransient = (r: Reply): boolean => r.code >= 400 && r.code < 500;
export const isPermanent = (r: Reply): boolean => r.code >= 500;

/** An Error carrying a reply, the form smtp-server hooks expect (responseCode). */
export class ReplyError extends Error {
  readonly responseCode: number;
  constructor(readonly reply: Reply) {
    super(`${reply.enhanced} ${reply.text}`);
    this.responseCode = reply.code;
  }
}

export const replies = {
  queued: (id: string) => reply(250, '2.0.0', `Ok: queued as ${id}`),

  // Relay and authentication
  authRequired: reply(530, '5.7.0', 'Authentication required: log in with your mailbox address and password'),
  encryptionRequired: reply(538, '5.7.11', 'Encryption required for requested authentication mechanism: use STARTTLS first'),
  badCredentials: reply(535, '5.7.8', 'Authentication credentials invalid'),
  authLockedOut: reply(454, '4.7.0', 'Too many failed logins from your address; try again later'),
  senderNotOwned: (addr: string) =>
    reply(553, '5.7.1', `Sender address <${addr}> is not yours: you may send only as your own mailbox or addresses granted to it`),

  // Sender checks
  nullSender: reply(550, '5.7.1', 'Bounce messages (MAIL FROM:<>) are not relayed'),
  senderDomainInvalid: (domain: string, why: string) =>
    reply(550, '5.1.8', `Sender address rejected: domain ${domain} ${why}`),
  senderDnsTimeout: (domain: string) =>
    reply(451, '4.4.3', `Sender domain ${domain} could not be checked (DNS time-out); try again later`),
  badSenderSyntax: reply(553, '5.1.7', 'Sender address syntax is invalid'),
  badRecipientSyntax: reply(553, '5.1.3', 'Recipient address syntax is invalid'),

  // Message checks
  tooBig: (limit: number) => reply(552, '5.3.4', `Message size exceeds the limit of ${limit} bytes`),
  bareLf: reply(550, '5.6.2', 'Message contains a bare LF: lines must end with CRLF'),
  bareCr: reply(550, '5.6.2', 'Message contains a bare CR: lines must end with CRLF'),
  lineTooLong: reply(550, '5.6.0', 'Message has a line longer than 998 octets (RFC 5322 section 2.1.1)'),
  tooManyRecipients: reply(452, '4.5.3', 'Too many recipients'),
  noRecipients: reply(503, '5.5.1', 'Need RCPT command first'),
  localError: reply(451, '4.3.0', 'Local error while queueing the message; try again later'),

  // Scanning and restrictions
  malware: (name: string) => reply(554, '5.7.1', `Message refused: malware found (${name})`),
  spam: (detail: string) => reply(550, '5.7.1', `Message refused as spam (${detail})`),
  blockedContent: (detail: string) => reply(554, '5.7.1', `Message refused: ${detail}`),
  /** A structure no mail program produces (RFC 3463 X.6.0: media error). */
  malformedMessage: (detail: string) => reply(550, '5.6.0', `Message refused: malformed message (${detail})`),
  scannerUnavailable: (name: string) =>
    reply(451, '4.7.1', `Message could not be scanned (${name} unavailable); try again later`),
  senderBlocked: reply(550, '5.7.1',
    'Sending from your account is suspended after messages to invalid addresses or spam; contact support to have it lifted'),
  rateMessages: reply(451, '4.7.1', 'Too many messages sent in the last hour; try again later'),
  rateRecipients: reply(452, '4.5.3', 'Too many recipients in the last hour; try again later'),

  shuttingDown: reply(421, '4.3.2', 'Service shutting down; try again later'),

  // Protocol errors of a submission session
  commandTooLong: reply(500, '5.5.2', 'Line too long: command lines are limited to 512 octets (RFC 5321 section 4.5.3.1.4)'),
  badBase64: reply(501, '5.5.2', 'Cannot decode the base64 response; authentication aborted'),
  tooManyErrors: reply(421, '4.7.0', 'Too many errors in this session; closing the connection'),
} as const;
