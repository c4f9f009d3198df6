/**
 * The durable state behind one interface, with two implementations: SQLite (embedded, one
 * server) and PostgreSQL (several servers sharing one queue). Nothing else touches tables.
 *
 * The recipient is the unit of state. A recipient that may be tried has `nextAttempt` set;
 * claiming it for delivery pushes `nextAttempt` forward by the lease, so a node that dies
 * simply lets it fall due again, and due work is always one indexed range scan.
 */

export type RecipientState = 'queued' | 'deferred' | 'delivered' | 'bounced' | 'held';
export const FINAL_STATES: readonly RecipientState[] = ['delivered', 'bounced'];

/** RFC 3461 NOTIFY values; null means "not given" (the default: failures, and delays). */
export type Notify = Array<'NEVER' | 'SUCCESS' | 'FAILURE' | 'DELAY'> | null;

export interface NewRecipient {
  address: string;
  /** ORCPT as given, e.g. "rfc822;ann@example.net". */
  orcpt?: string | null;
  notify?: Notify;
}

export interface NewMessage {
  id: string;
  /** '' for a null reverse-path (only the gateway's own notices have one). */
  sender: string;
  recipients: NewRecipient[];
  /** The message as it will be sent: CRLF line ends, trace headers already added. */
  body: Buffer;
  created: number;
  envid?: string | null;
  ret?: 'FULL' | 'HDRS' | null;
  /** Who is held responsible: "user:<mailbox>" or "ip:<address>". */
  principal: string;
  authUser?: string | null;
  clientIp?: string | null;
  smtputf8: boolean;
  eightBit: boolean;
  kind: 'message' | 'notice';
}

export interface RecipientRow {
  id: number;
  messageId: string;
  address: string;
  domain: string;
  orcpt: string | null;
  notify: Notify;
  state: RecipientState;
  attempts: number;
  nextAttempt: number | null;
  leaseOwner: string | null;
  lastReply: string | null;
  lastAttempt: number | null;
  doneAt: number | null;
  /** When the next delay notice is due (null: none planned). */
  nextDelayNotice: number | null;
}

export interface MessageRow {
  id: string;
  sender: string;
  created: number;
  size: number;
  envid: string | null;
  ret: 'FULL' | 'HDRS' | null;
  principal: string;
  authUser: string | null;
  clientIp: string | null;
  smtputf8: boolean;
  eightBit: boolean;
  kind: 'message' | 'notice';
  recipients: RecipientRow[];
}

export interface AttemptRow {
  messageId: string;
  time: number;
  recipients: string[];
  host: string | null;
  ip: string | null;
  tls: boolean;
  reply: string | null;
  result: 'delivered' | 'deferred' | 'bounced' | 'mixed';
  node: string;
}

/** A change to one recipient after an attempt or an operator's action. */
export interface RecipientUpdate {
  id: number;
  state: RecipientState;
  nextAttempt: number | null;
  lastReply?: string | null;
  incrementAttempts?: boolean;
  doneAt?: number | null;
  nextDelayNotice?: number | null;
}

export interface MessageFilter {
  state?: RecipientState;
  sender?: string;
  domain?: string;
  authUser?: string;
  limit?: number;
}

export interface QueueStats {
  recipients: Record<RecipientState, number>;
  messages: number;
  oldestQueued: number | null;
}

export interface Account {
  address: string;
  hash: string;
  created: number;
  grants: string[];
}

/** An operator who may log in to the admin pages; kept apart from mailbox accounts. */
export interface AdminAccount {
  address: string;
  hash: string;
  created: number;
}

/** What happened in one hour, for the admin page's charts. */
export interface HourlyCount {
  /** Start of the hour, ms since the epoch (UTC). */
  hour: number;
  /** Messages queued (the gateway's own notices not counted). */
  accepted: number;
  /** Recipients that reached their final state in that hour. */
  delivered: number;
  bounced: number;
  /** Attempts whose result was deferred. */
  deferred: number;
}

export interface Block {
  principal: string;
  reason: string;
  since: number;
  counts: Record<string, number>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  close(): Promise<void>;

  // ---- queue
  /** Durable (committed and fsync'd) when the promise resolves. */
  insertMessage(msg: NewMessage): Promise<void>;
  getMessage(id: string): Promise<MessageRow | null>;
  readBody(id: string): Promise<Buffer | null>;
  listMessages(filter?: MessageFilter): Promise<MessageRow[]>;
  /** Takes up to `limit` due recipients, leasing them to `node` until now + leaseMs. */
  claimDue(now: number, limit: number, node: string, leaseMs: number): Promise<RecipientRow[]>;
  /** The earliest nextAttempt of any recipient, or null when nothing waits. */
  nextDue(): Promise<number | null>;
  /**
   * Extends the leases `node` holds on these recipients to `until`, for deliveries that take
   * longer than one lease; rows another node has taken meanwhile are left alone.
   */
  renewLeases?(ids: number[], node: string, until: number): Promise<void>;
  /** Applies updates and appends the attempt (if any) in one transaction. */
  recordOutcomes(updates: RecipientUpdate[], attempt?: AttemptRow): Promise<void>;
  attempts(messageId: string): Promise<AttemptRow[]>;
  deleteMessage(id: string): Promise<boolean>;
  /** Drops the bytes of messages whose recipients are all final; the history stays. */
  pruneBodies(): Promise<number>;
  stats(): Promise<QueueStats>;
  /** Counts per hour from `since` on, oldest first; hours with nothing in them are left out. */
  hourlyCounts(since: number): Promise<HourlyCount[]>;

  // ---- accounts
  addAccount(address: string, hash: string): Promise<boolean>;
  getAccount(address: string): Promise<Account | null>;
  listAccounts(): Promise<Account[]>;
  deleteAccount(address: string): Promise<boolean>;
  setPassword(address: string, hash: string): Promise<boolean>;
  addGrant(address: string, pattern: string): Promise<boolean>;
  removeGrant(address: string, pattern: string): Promise<boolean>;

  // ---- operators of the admin page (a table apart from the mailbox accounts)
  addAdmin(address: string, hash: string): Promise<boolean>;
  getAdmin(address: string): Promise<AdminAccount | null>;
  listAdmins(): Promise<AdminAccount[]>;
  deleteAdmin(address: string): Promise<boolean>;
  setAdminPassword(address: string, hash: string): Promise<boolean>;

  // ---- blocks and counters
  addBlock(block: Block): Promise<boolean>;
  removeBlock(principal: string): Promise<boolean>;
  getBlock(principal: string): Promise<Block | null>;
  listBlocks(): Promise<Block[]>;
  /** Records `n` events of a kind for a principal (invalid recipients, spam, messages...). */
  addEvent(principal: string, kind: string, time: number, n?: number): Promise<void>;
  countEvents(principal: string, kind: string, since: number): Promise<number>;
  pruneEvents(before: number): Promise<void>;

  // ---- key/value state shared by nodes (web sessions, login throttles)
  kvGet(key: string): Promise<string | null>;
  kvSet(key: string, value: string, expires: number): Promise<void>;
  kvDelete(key: string): Promise<void>;
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

/** Rows of HOURLY_COUNTS_SQL (hour number, kind, count) as HourlyCount values, oldest first. */
export function hourlyCountsOf(rows: Array<{ h: number; k: string; n: number }>): HourlyCount[] {
  const byHour = new Map<number, HourlyCount>();
  for (const r of rows) {
    const hour = Number(r.h) * 3_600_000;
    let c = byHour.get(hour);
    if (!c) {
      c = { hour, accepted: 0, delivered: 0, bounced: 0, deferred: 0 };
      byHour.set(hour, c);
    }
    if (r.k === 'accepted' || r.k === 'delivered' || r.k === 'bounced' || r.k === 'deferred') {
      c[r.k] += Number(r.n);
    }
  }
  return [...byHour.values()].sort((a, b) => a.hour - b.hour);
}

/**
 * The hourly counts in one statement for both stores; `$1` stands for `since` (the SQLite
 * store turns it into the named parameter @since). Integer division of the ms times gives the hour.
 */
export const HOURLY_COUNTS_SQL = `
  SELECT created / 3600000 AS h, 'accepted' AS k, COUNT(*) AS n FROM messages
    WHERE created >= $1 AND kind = 'message' GROUP BY 1
  UNION ALL
  SELECT done_at / 3600000 AS h, state AS k, COUNT(*) AS n FROM recipients
    WHERE done_at >= $1 AND state IN ('delivered', 'bounced') GROUP BY 1, 2
  UNION ALL
  SELECT time / 3600000 AS h, 'deferred' AS k, COUNT(*) AS n FROM attempts
    WHERE time >= $1 AND result = 'deferred' GROUP BY 1`;
