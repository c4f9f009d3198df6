/**
 * Plain rate limits per principal (the provider steers high-volume senders to their own
 * servers): messages per hour, recipients per message, recipients per hour. Accepted
 * messages and their recipients are store events, counted over a sliding hour, so a limit
 * lasts only until the hour allows again and holds across nodes sharing the store.
 *
 * Replies: over the message rate 451 4.7.1 at MAIL FROM; over a recipient limit 452 4.5.3 at
 * RCPT, which tells the client to send the remaining recipients later (RFC 5321 section
 * 4.5.3.1.10).
 */
import { replies, type Reply } from '../reply/reply.js';
import type { Store } from '../store/store.js';
import type { Limits } from './blocks.js';

export const EVENT_MESSAGE = 'message';
export const EVENT_RECIPIENT = 'recipient';
export const HOUR = 3_600_000;

export async function checkMessageRate(store: Store, principal: string, now: number, limits: Limits): Promise<Reply | null> {
  const sent = await store.countEvents(principal, EVENT_MESSAGE, now - HOUR);
  return sent >= limits.messages_per_hour ? replies.rateMessages : null;
}

/** `countSoFar` recipients of the current message were accepted before this one. */
export async function checkRecipientRate(
  store: Store,
  principal: string,
  countSoFar: number,
  now: number,
  limits: Limits,
): Promise<Reply | null> {
  if (countSoFar >= limits.recipients_per_message) return replies.tooManyRecipients;
  const sent = await store.countEvents(principal, EVENT_RECIPIENT, now - HOUR);
  return sent + countSoFar >= limits.recipients_per_hour ? replies.rateRecipients : null;
}

export async function countAccepted(store: Store, principal: string, recipients: number, now: number): Promise<void> {
  await store.addEvent(principal, EVENT_MESSAGE, now);
  await store.addEvent(principal, EVENT_RECIPIENT, now, recipients);
}
