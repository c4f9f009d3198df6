/**
 * Row mapping shared by both stores: the recipients table has the same columns in SQLite
 * and PostgreSQL, and both drivers return its numbers as JS numbers.
 */
import type { Notify, RecipientRow, RecipientState } from './store.js';

export type Row = Record<string, unknown>;

export function toRecipient(r: Row): RecipientRow {
  return {
    id: r.id as number,
    messageId: r.message_id as string,
    address: r.address as string,
    domain: r.domain as string,
    orcpt: r.orcpt as string | null,
    notify: r.notify ? ((r.notify as string).split(',') as Notify) : null,
    state: r.state as RecipientState,
    attempts: r.attempts as number,
    nextAttempt: r.next_attempt as number | null,
    leaseOwner: r.lease_owner as string | null,
    lastReply: r.last_reply as string | null,
    lastAttempt: r.last_attempt as number | null,
    doneAt: r.done_at as number | null,
    nextDelayNotice: r.next_delay_notice as number | null,
  };
}
