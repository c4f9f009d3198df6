/**
 * What happens next to each recipient after an attempt: the one place that turns delivery
 * outcomes into queue state. Pure: given the message, its recipients, the outcomes and the
 * clock, it returns the store updates, the attempt record and the notices to send.
 *
 * - delivered (2xx): final; a success notice when NOTIFY asked for SUCCESS.
 * - failed (5xx, null MX, no such domain, too big...): bounced at once, never retried.
 * - deferred (4xx, lost connection, time-out, TLS or DNS trouble): the next slot of the
 *   retry schedule, counted from acceptance; none left: bounced. A delay notice goes out
 *   once the message is `retry.delay_notice_after` old, then every `delay_notice_every`.
 * - RFC 3461: NOTIFY=NEVER gets no notice; without NOTIFY, failures and delays are reported.
 *   Never a notice to the null reverse-path, and never one about a notice.
 */
import type { LoadedConfig } from '../config/load.js';
import { formatRemoteReply, localReply, statusOf, type RecipientOutcome } from '../delivery/outcome.js';
import type { NoticeRecipient } from '../dsn/fields.js';
import type { AttemptRow, MessageRow, RecipientRow, RecipientUpdate } from '../store/store.js';
import type { RetrySchedule } from './schedule.js';

export interface Decision {
  updates: RecipientUpdate[];
  attempt: AttemptRow;
  failed: NoticeRecipient[];
  /** Failed because the schedule ran out (a subset of `failed` or of `dropped`). */
  expired: string[];
  delayed: NoticeRecipient[];
  delivered: NoticeRecipient[];
  /** Recipients of a notice that could not be delivered: the notice is dropped. */
  dropped: RecipientOutcome[];
  /** Per recipient, for the log line. */
  results: Array<{ to: string; result: 'delivered' | 'deferred' | 'bounced'; reply: string; next_attempt: number | null }>;
}

export interface DecideInput {
  msg: MessageRow;
  rows: RecipientRow[];
  /** One per row, same order. */
  outcomes: RecipientOutcome[];
  now: number;
  schedule: RetrySchedule;
  retry: LoadedConfig['retry'];
  node: string;
}

type NotifyWhat = 'SUCCESS' | 'FAILURE' | 'DELAY';

export function wants(row: Pick<RecipientRow, 'notify'>, what: NotifyWhat): boolean {
  if (row.notify === null || row.notify.length === 0) return what !== 'SUCCESS';
  return row.notify.includes(what);
}

export function decide(input: DecideInput): Decision {
  const { msg, rows, outcomes, now, schedule, retry } = input;
  const canNotify = msg.kind === 'message' && msg.sender !== '';
  const giveUp = msg.created + schedule.giveUpAge;
  const d: Decision = {
    updates: [], attempt: undefined as unknown as AttemptRow, failed: [], expired: [], delayed: [],
    delivered: [], dropped: [], results: [],
  };

  rows.forEach((row, i) => {
    const o = outcomes[i]!;
    const reply = formatRemoteReply(o.reply);
    const notice = (action: NoticeRecipient['action'], status: string): NoticeRecipient => ({
      address: row.address, orcpt: row.orcpt, action, status, reply: o.reply, mx: o.mx, ip: o.ip,
      lastAttempt: now, willRetryUntil: action === 'delayed' ? giveUp : null,
    });

    if (o.kind === 'delivered') {
      d.updates.push({ id: row.id, state: 'delivered', nextAttempt: null, lastReply: reply, incrementAttempts: true, doneAt: now });
      d.results.push({ to: row.address, result: 'delivered', reply, next_attempt: null });
      if (canNotify && wants(row, 'SUCCESS')) d.delivered.push(notice('delivered', statusOf('delivered', o.reply)));
      return;
    }

    const next = o.kind === 'deferred' ? schedule.nextSlot(msg.created, now) : null;
    if (o.kind === 'deferred' && next === null) d.expired.push(row.address);
    if (next === null) {
      const status = statusOf('failed', o.reply);
      d.updates.push({ id: row.id, state: 'bounced', nextAttempt: null, lastReply: reply, incrementAttempts: true, doneAt: now });
      d.results.push({ to: row.address, result: 'bounced', reply, next_attempt: null });
      if (msg.kind === 'notice') d.dropped.push(o);
      else if (canNotify && wants(row, 'FAILURE')) d.failed.push(notice('failed', status));
      return;
    }

    const u: RecipientUpdate = { id: row.id, state: 'deferred', nextAttempt: next, lastReply: reply, incrementAttempts: true };
    const noticeDue = row.nextDelayNotice ?? msg.created + retry.delay_notice_after;
    if (canNotify && wants(row, 'DELAY') && now >= noticeDue) {
      d.delayed.push(notice('delayed', statusOf('deferred', o.reply)));
      // The next one at the first step of delay_notice_every after now.
      const every = Math.max(1, retry.delay_notice_every);
      u.nextDelayNotice = noticeDue + (Math.floor((now - noticeDue) / every) + 1) * every;
    }
    d.updates.push(u);
    d.results.push({ to: row.address, result: 'deferred', reply, next_attempt: next });
  });

  const kinds = new Set(d.results.map((r) => r.result));
  const first = outcomes.find((o) => o.mx) ?? outcomes[0];
  const replies = new Set(d.results.map((r) => r.reply));
  d.attempt = {
    messageId: msg.id,
    time: now,
    recipients: rows.map((r) => r.address),
    host: first?.mx ?? null,
    ip: first?.ip ?? null,
    tls: first?.tls ?? false,
    reply: replies.size <= 1 ? [...replies][0] ?? null : d.results.map((r) => `<${r.to}>: ${r.reply}`).join('; '),
    result: kinds.size === 1 ? [...kinds][0]! : 'mixed',
    node: input.node,
  };
  return d;
}

/** Outcomes for recipients whose message bytes are gone (should not happen; no retry loop). */
export function lostBodyOutcomes(rows: RecipientRow[]): RecipientOutcome[] {
  const reply = localReply(554, '5.3.0', 'The queued message could not be read back from the store');
  return rows.map((r) => ({ address: r.address, kind: 'failed', reply, mx: null, ip: null, tls: false }));
}
