/**
 * Blocks: a principal that, within a short window, sent several messages to invalid
 * addresses or several messages with a high spam score is blocked until an operator lifts it
 * (every later MAIL FROM gets 550 5.7.1). Blocks and the counters behind them live in the
 * store, so they survive a restart and every node sharing the store sees them.
 *
 * Counted events (store events, per principal):
 *   invalid_recipient  a message with at least one invalid recipient: refused at RCPT for its
 *                      syntax, or refused by the remote server as unknown (5.1.1, 5.1.2,
 *                      5.1.10); at most once per message
 *   spam               a message refused as spam or scored at or above the high score
 *
 * Lifting a block also forgets the events before it, so the next mistake does not block the
 * principal again at once.
 */
import type { Config } from '../config/schema.js';
import { maillog } from '../maillog/log.js';
import type { Block, Store } from '../store/store.js';
import { parsePrincipal } from './principal.js';

export const EVENT_INVALID = 'invalid_recipient';
export const EVENT_SPAM = 'spam';

export type Limits = Config['limits'];

/** Reasons recorded with automatic blocks; operators' blocks carry their own text. */
export const REASON_INVALID = 'messages to invalid recipients';
export const REASON_SPAM = 'messages with a high spam score';

/** How long "counted already" and "unblocked at" marks are kept: longer than any window. */
const MARK_TTL = 24 * 3_600_000;
const countedKey = (id: string) => `restrict-invalid:${id}`;
const unblockedKey = (principal: string) => `restrict-unblocked:${principal}`;

/** Remote replies that say a recipient does not exist (RFC 3463). */
const UNKNOWN_RECIPIENT = new Set(['5.1.1', '5.1.2', '5.1.10']);

export function isUnknownRecipientCode(enhanced: string): boolean {
  return UNKNOWN_RECIPIENT.has(enhanced.trim());
}

/** The store's key for a principal as given by intake ("user:..."/"ip:..."), normalised. */
export function principalId(principal: string): string {
  const p = parsePrincipal(principal);
  return p.ok ? p.principal : principal;
}

/** The start of a counting window, never before the principal's last unblock. */
async function windowStart(store: Store, principal: string, now: number, windowMs: number): Promise<number> {
  const unblocked = Number((await store.kvGet(unblockedKey(principal))) ?? 0);
  return Math.max(now - windowMs, unblocked);
}

/** Counts of both kinds within their windows, as stored with a block. */
export async function currentCounts(store: Store, principal: string, now: number, limits: Limits): Promise<Record<string, number>> {
  const [invalid, spam] = await Promise.all([
    store.countEvents(principal, EVENT_INVALID, await windowStart(store, principal, now, limits.invalid_recipient_window)),
    store.countEvents(principal, EVENT_SPAM, await windowStart(store, principal, now, limits.spam_window)),
  ]);
  return { invalid_recipient_messages: invalid, spam_messages: spam };
}

/** Blocks a principal; false when it was blocked already. Logs the block. */
export async function blockPrincipal(
  store: Store,
  principal: string,
  reason: string,
  counts: Record<string, number>,
  now: number,
  by: 'limits' | 'operator' = 'limits',
): Promise<boolean> {
  const added = await store.addBlock({ principal, reason, since: now, counts });
  if (added) maillog.blocked(principal, { reason, counts, by });
  return added;
}

/** Lifts a block and forgets the events that led to it; false when there was none. */
export async function unblockPrincipal(store: Store, principal: string, now: number): Promise<boolean> {
  const removed = await store.removeBlock(principal);
  if (!removed) return false;
  await store.kvSet(unblockedKey(principal), String(now), Math.max(now, Date.now()) + MARK_TTL);
  maillog.unblocked(principal, { by: 'operator' });
  return true;
}

export async function isBlocked(store: Store, principal: string): Promise<Block | null> {
  return store.getBlock(principal);
}

/**
 * Counts one event and blocks the principal when its count within the window reaches the
 * threshold. Returns true when this event blocked it.
 */
async function countAndMaybeBlock(
  store: Store,
  principal: string,
  kind: typeof EVENT_INVALID | typeof EVENT_SPAM,
  now: number,
  limits: Limits,
): Promise<boolean> {
  await store.addEvent(principal, kind, now);
  const counts = await currentCounts(store, principal, now, limits);
  const reached = kind === EVENT_INVALID
    ? counts.invalid_recipient_messages! >= limits.invalid_recipient_messages
    : counts.spam_messages! >= limits.spam_messages;
  if (!reached) return false;
  return blockPrincipal(store, principal, kind === EVENT_INVALID ? REASON_INVALID : REASON_SPAM, counts, now);
}

/**
 * A message of `principal` had an invalid recipient. `messageId` is the queue id for a
 * refusal from a remote server, or a transaction id at RCPT time; one message is counted
 * once however many of its recipients are invalid. Returns true when this blocked the
 * principal. Safe to call for every failed recipient; the delivery side calls it for replies
 * that isUnknownRecipientCode() accepts.
 */
export async function recordInvalidRecipient(
  store: Store,
  principal: string,
  messageId: string,
  now: number,
  limits: Limits,
): Promise<boolean> {
  const key = countedKey(messageId);
  if ((await store.kvGet(key)) !== null) return false;
  await store.kvSet(key, '1', Math.max(now, Date.now()) + MARK_TTL);
  return countAndMaybeBlock(store, principalId(principal), EVENT_INVALID, now, limits);
}

/** Marks a message as counted already (its RCPT-time refusal counted for its transaction). */
export async function markInvalidCounted(store: Store, messageId: string, now: number): Promise<void> {
  await store.kvSet(countedKey(messageId), '1', Math.max(now, Date.now()) + MARK_TTL);
}

/** A message of `principal` was refused as spam or scored high. True when this blocked it. */
export async function recordSpam(store: Store, principal: string, now: number, limits: Limits): Promise<boolean> {
  return countAndMaybeBlock(store, principalId(principal), EVENT_SPAM, now, limits);
}

/** The parts of a delivery outcome that tell whether the remote server denied a mailbox. */
export interface FailedRecipientLike {
  kind: string;
  reply: { enhanced: string | null; source?: string };
}

/**
 * For the delivery side, after an attempt: counts the message once when the remote server
 * refused one of its recipients as unknown (5.1.1, 5.1.2, 5.1.10). The gateway's own notices
 * are never counted. Returns true when this blocked the principal.
 */
export async function recordDeliveryFailures(
  store: Store,
  msg: { id: string; principal: string; kind: string },
  outcomes: FailedRecipientLike[],
  now: number,
  limits: Limits,
): Promise<boolean> {
  if (msg.kind !== 'message') return false;
  const unknown = outcomes.some((o) => o.kind === 'failed' && o.reply.source !== 'local' &&
    o.reply.enhanced !== null && isUnknownRecipientCode(o.reply.enhanced));
  return unknown ? recordInvalidRecipient(store, msg.principal, msg.id, now, limits) : false;
}
