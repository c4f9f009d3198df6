/**
 * Hook points for sender restrictions (blocks, hourly rates, spam and invalid-recipient
 * counts). The intake pipeline calls them at fixed places; the implementation lives with the
 * rest of the limits, so intake knows nothing about counters or thresholds. Every hook is
 * optional in AppContext: without one, nothing is restricted beyond relay and sender policy.
 *
 * Call order for one message:
 *   beforeMail (MAIL FROM) -> onRecipient (each RCPT) -> scanners -> afterScan
 *   -> store insert -> onAccepted
 */
import type { Reply } from '../reply/reply.js';
import type { ScanVerdict } from '../scan/scanner.js';
import type { Principal, Submission } from './types.js';

/** The verdict of one scanner, named, in the order the scanners ran. */
export interface ScanOutcome {
  scanner: string;
  verdict: ScanVerdict;
}

export interface Restrictions {
  /**
   * At MAIL FROM (and when webmail starts a send), after the relay check: a blocked
   * principal or one over its message rate is refused here.
   */
  beforeMail(who: Principal): Promise<Reply | null>;

  /**
   * At each RCPT, before the recipient is accepted. `countSoFar` recipients of this message
   * were accepted before this one.
   */
  onRecipient(who: Principal, recipient: string, countSoFar: number): Promise<Reply | null>;

  /**
   * A RCPT refused for its syntax (by intake or by the SMTP library): such recipients count
   * toward the invalid-recipient block, once per transaction. Must not throw.
   */
  onInvalidRecipient?(who: Principal, recipient: string): Promise<void>;

  /**
   * After the scanners ran, with every verdict so far. Called even when a scanner refused
   * the message (so spam counts include refused spam); its own reply is then ignored and the
   * scanner's refusal is given. A reply refuses an otherwise clean message.
   */
  afterScan(sub: Submission, outcomes: ScanOutcome[]): Promise<Reply | null>;

  /** After the message is durably queued: count it for rates. Must not throw. */
  onAccepted(sub: Submission, queueId: string, size: number): Promise<void>;

  /**
   * After a delivery attempt: remote refusals of a message's recipients as unknown (5.1.1,
   * 5.1.2, 5.1.10) count toward the invalid-recipient block, once per message.
   */
  onDeliveryFailures?(msg: { id: string; principal: string; kind: string }, outcomes: DeliveryFailureLike[]): Promise<void>;
}

/** The parts of a delivery outcome that tell whether a remote server denied a mailbox. */
export interface DeliveryFailureLike {
  kind: string;
  reply: { enhanced: string | null; source?: string };
}
