/**
 * The queue as operators and tools see it: plain JSON-able objects for `outpost queue list`,
 * `queue show`, `queue stats` and the admin page. Times are ISO strings.
 *
 * A recipient being delivered right now keeps its stored state (queued or deferred) and is
 * marked `in_flight`, with the node holding it; its `next_attempt` is null because the time
 * stored meanwhile is only the lease's end, not a planned attempt.
 */
import type { AttemptRow, MessageRow, QueueStats, RecipientRow, RecipientState, Store } from '../store/store.js';

export interface RecipientView {
  address: string;
  state: RecipientState;
  attempts: number;
  next_attempt: string | null;
  last_attempt: string | null;
  last_reply: string | null;
  in_flight: boolean;
  lease_owner: string | null;
  orcpt: string | null;
  notify: string[] | null;
}

export interface MessageView {
  id: string;
  kind: 'message' | 'notice';
  from: string;
  recipients: RecipientView[];
  size: number;
  created: string;
  envid: string | null;
  ret: 'FULL' | 'HDRS' | null;
  principal: string;
  auth_user: string | null;
  client_ip: string | null;
}

export interface AttemptView {
  time: string;
  recipients: string[];
  host: string | null;
  ip: string | null;
  tls: boolean;
  reply: string | null;
  result: AttemptRow['result'];
  node: string;
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

export function inFlight(r: RecipientRow, now: number): boolean {
  return (r.state === 'queued' || r.state === 'deferred') && r.leaseOwner !== null &&
    r.nextAttempt !== null && r.nextAttempt > now;
}

export function recipientView(r: RecipientRow, now: number): RecipientView {
  const flying = inFlight(r, now);
  return {
    address: r.address,
    state: r.state,
    attempts: r.attempts,
    next_attempt: flying ? null : iso(r.nextAttempt),
    last_attempt: iso(r.lastAttempt),
    last_reply: r.lastReply,
    in_flight: flying,
    lease_owner: flying ? r.leaseOwner : null,
    orcpt: r.orcpt,
    notify: r.notify,
  };
}

export function messageView(m: MessageRow, now: number): MessageView {
  return {
    id: m.id,
    kind: m.kind,
    from: m.sender,
    recipients: m.recipients.map((r) => recipientView(r, now)),
    size: m.size,
    created: iso(m.created)!,
    envid: m.envid,
    ret: m.ret,
    principal: m.principal,
    auth_user: m.authUser,
    client_ip: m.clientIp,
  };
}

export function attemptView(a: AttemptRow): AttemptView {
  return {
    time: iso(a.time)!,
    recipients: a.recipients,
    host: a.host,
    ip: a.ip,
    tls: a.tls,
    reply: a.reply,
    result: a.result,
    node: a.node,
  };
}

/** Not finished: some recipient is still queued, deferred or held. */
export function unfinished(m: MessageRow): boolean {
  return m.recipients.some((r) => r.state === 'queued' || r.state === 'deferred' || r.state === 'held');
}

/** Messages for a listing: by default those not finished, newest first. */
export async function listQueue(store: Store, opts: { all?: boolean; limit?: number } = {}): Promise<MessageRow[]> {
  const limit = opts.limit ?? 1000;
  if (opts.all) return store.listMessages({ limit });
  const parts = await Promise.all((['queued', 'deferred', 'held'] as const).map((state) => store.listMessages({ state, limit })));
  const byId = new Map<string, MessageRow>();
  for (const m of parts.flat()) byId.set(m.id, m);
  return [...byId.values()]
    .sort((a, b) => b.created - a.created || a.id.localeCompare(b.id))
    .slice(0, limit);
}

export interface StatsView {
  recipients: Record<RecipientState, number>;
  messages: number;
  oldest_queued: string | null;
  oldest_queued_age_s: number | null;
}

export function statsView(s: QueueStats, now: number): StatsView {
  return {
    recipients: s.recipients,
    messages: s.messages,
    oldest_queued: iso(s.oldestQueued),
    oldest_queued_age_s: s.oldestQueued === null ? null : Math.round((now - s.oldestQueued) / 1000),
  };
}
