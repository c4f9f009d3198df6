/**
 * Sender restrictions at the intake pipeline's hook points (src/intake/restrictions.ts):
 *
 *   beforeMail        blocked principal: 550 5.7.1; over messages per hour: 451 4.7.1
 *   onRecipient       over recipients per message or per hour: 452 4.5.3
 *   onInvalidRecipient a recipient refused for its syntax: counts the transaction once
 *   afterScan         refused as spam or scored at or above the high score: counts; at the
 *                     threshold the principal is blocked and this message refused too
 *   onAccepted        counts the message and its recipients for the hourly rates
 *
 * Counters and blocks are in the store (blocks.ts, limits.ts); this object only remembers,
 * per SMTP session, whether the current transaction has had an invalid recipient counted.
 */
import type { LoadedConfig } from '../config/load.js';
import type { DeliveryFailureLike, Restrictions, ScanOutcome } from '../intake/restrictions.js';
import { principalKey, type Principal, type Submission } from '../intake/types.js';
import { replies, type Reply } from '../reply/reply.js';
import type { Store } from '../store/store.js';
import {
  markInvalidCounted, principalId, recordDeliveryFailures, recordInvalidRecipient, recordSpam, type Limits,
} from './blocks.js';
import { checkMessageRate, checkRecipientRate, countAccepted, HOUR } from './limits.js';

export type { Restrictions } from '../intake/restrictions.js';
export { recordInvalidRecipient, isUnknownRecipientCode } from './blocks.js';

/** Events are kept at least a day, longer when a configured window is longer. */
const MIN_EVENT_AGE = 24 * HOUR;
const PRUNE_EVERY = 10 * 60_000;
/** Sessions idle this long are forgotten (smtp.idle_timeout ends them much sooner). */
const SESSION_TTL = HOUR;

interface Txn {
  /** Increases at each MAIL FROM of the session. */
  n: number;
  invalidCounted: boolean;
  touched: number;
  /** Counting in progress (the library's refusal does not wait for it): awaited at MAIL. */
  pending: Promise<unknown>;
}

type Cfg = Pick<LoadedConfig, 'limits' | 'scan' | 'auth'>;

export class SenderRestrictions implements Restrictions {
  private readonly limits: Limits;
  private readonly highScore: number | null;
  private readonly keepEvents: number;
  private readonly txns = new Map<string, Txn>();
  private lastPrune = 0;

  constructor(cfg: Cfg, private readonly store: Store, private readonly now: () => number = Date.now) {
    this.limits = cfg.limits;
    const rspamd = cfg.scan.rspamd;
    this.highScore = rspamd ? rspamd.high_score ?? rspamd.reject_score : null;
    this.keepEvents = Math.max(
      MIN_EVENT_AGE,
      cfg.limits.invalid_recipient_window,
      cfg.limits.spam_window,
      cfg.auth.failure_window,
    );
  }

  async beforeMail(who: Principal): Promise<Reply | null> {
    const now = this.now();
    await this.housekeeping(now);
    const txn = this.txn(who.sessionId, now);
    await txn.pending;
    txn.n++;
    txn.invalidCounted = false;
    const p = keyOf(who);
    if (await this.store.getBlock(p)) return replies.senderBlocked;
    return checkMessageRate(this.store, p, now, this.limits);
  }

  async onRecipient(who: Principal, _recipient: string, countSoFar: number): Promise<Reply | null> {
    return checkRecipientRate(this.store, keyOf(who), countSoFar, this.now(), this.limits);
  }

  async onInvalidRecipient(who: Principal, _recipient: string): Promise<void> {
    const now = this.now();
    const txn = this.txn(who.sessionId, now);
    if (txn.invalidCounted) return;
    txn.invalidCounted = true;
    const counting = recordInvalidRecipient(this.store, keyOf(who), `${who.sessionId}#${txn.n}`, now, this.limits);
    txn.pending = counting.catch(() => undefined);
    await counting;
  }

  async afterScan(sub: Submission, outcomes: ScanOutcome[]): Promise<Reply | null> {
    const now = this.now();
    const p = keyOf(sub);
    await this.txns.get(sub.sessionId)?.pending;
    if (outcomes.some((o) => this.isHighSpam(o))) await recordSpam(this.store, p, now, this.limits);
    // Blocked during this transaction (here, or by another session): nothing more is queued.
    return (await this.store.getBlock(p)) ? replies.senderBlocked : null;
  }

  async onAccepted(sub: Submission, queueId: string, _size: number): Promise<void> {
    const now = this.now();
    await countAccepted(this.store, keyOf(sub), sub.recipients.length, now);
    // Its RCPT-time refusal counted already: a later bounce of the same message must not.
    if (this.txns.get(sub.sessionId)?.invalidCounted) await markInvalidCounted(this.store, queueId, now);
  }

  async onDeliveryFailures(msg: { id: string; principal: string; kind: string }, outcomes: DeliveryFailureLike[]): Promise<void> {
    await recordDeliveryFailures(this.store, msg, outcomes, this.now(), this.limits);
  }

  private isHighSpam(o: ScanOutcome): boolean {
    const v = o.verdict;
    if (v.kind === 'reject' && v.reason === 'spam') return true;
    if (v.kind === 'unavailable' || v.score === undefined || this.highScore === null) return false;
    return v.score >= this.highScore;
  }

  private txn(sessionId: string, now: number): Txn {
    let t = this.txns.get(sessionId);
    if (!t) {
      t = { n: 0, invalidCounted: false, touched: now, pending: Promise.resolve() };
      this.txns.set(sessionId, t);
    }
    t.touched = now;
    return t;
  }

  /** Drops old events and forgotten sessions, at most every few minutes. */
  private async housekeeping(now: number): Promise<void> {
    if (now - this.lastPrune < PRUNE_EVERY) return;
    this.lastPrune = now;
    for (const [id, t] of this.txns) if (now - t.touched > SESSION_TTL) this.txns.delete(id);
    await this.store.pruneEvents(now - this.keepEvents);
  }
}

function keyOf(who: Pick<Principal, 'authUser' | 'clientIp'>): string {
  return principalId(principalKey(who));
}

export function buildRestrictions(cfg: Cfg, store: Store, now: () => number = Date.now): SenderRestrictions {
  return new SenderRestrictions(cfg, store, now);
}
