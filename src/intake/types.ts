/**
 * What the intake pipeline is told about a message and the party handing it over. SMTP
 * sessions and the webmail fill the same shapes, so every check sees one kind of input.
 */
import type { Reply } from '../reply/reply.js';
import type { NewRecipient } from '../store/store.js';

/** Who hands a message over: the connection (or web session) and its rights. */
export interface Principal {
  /** SMTP session id or web session id: leads log lines until a queue id exists. */
  sessionId: string;
  clientIp: string;
  /** The mailbox that logged in, lower-cased; null when not authenticated. */
  authUser: string | null;
  /** The client address is inside relay.trusted_networks. */
  trusted: boolean;
  /** The connection is encrypted (STARTTLS, implicit TLS or HTTPS). */
  tls: boolean;
}

/** The TLS parameters of the connection, for the Received header. */
export interface TlsInfo {
  /** "TLSv1.3" */
  version: string;
  /** "TLS_AES_256_GCM_SHA384" */
  cipher: string;
}

/** One message handed over for sending, with its envelope. */
export interface Submission extends Principal {
  /** HELO/EHLO name as given, or the web host name for webmail. */
  heloName: string;
  /** Reverse DNS name of the client, when it has one. */
  clientHostname: string | null;
  /** RFC 3848 "with" keyword: ESMTP, ESMTPA, ESMTPS, ESMTPSA, SMTP, HTTP, HTTPS... */
  protocol: string;
  tlsInfo: TlsInfo | null;
  sender: string;
  recipients: NewRecipient[];
  /** RFC 3461 ENVID and RET from MAIL FROM. */
  envid: string | null;
  ret: 'FULL' | 'HDRS' | null;
  /** BODY=8BITMIME was given. */
  eightBit: boolean;
  /** SMTPUTF8 was given, or an address is not ASCII. */
  smtputf8: boolean;
}

export type SubmitResult =
  | { ok: true; queueId: string }
  | { ok: false; reply: Reply };

/** The key that blocks, counters and the store use for the party held responsible. */
export function principalKey(who: Pick<Principal, 'authUser' | 'clientIp'>): string {
  return who.authUser ? `user:${who.authUser}` : `ip:${who.clientIp}`;
}
