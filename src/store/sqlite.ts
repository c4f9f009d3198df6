/**
 * The embedded store: one SQLite file in data_dir in WAL mode. Accepting a message is the
 * one write whose loss would break a promise (the 250 already sent), so message inserts
 * commit with synchronous=FULL: the WAL is fsync'd before the commit returns, which also
 * makes every earlier commit durable. Other writes (delivery outcomes, counters, sessions)
 * commit with synchronous=NORMAL: they survive a crash of the process, and only an
 * operating-system crash can lose the last of them, which at worst repeats a delivery.
 * Each fsync blocks the event loop, so this keeps them to one per group of messages.
 *
 * Inserts from concurrent sessions are group-committed: those that arrive within one turn
 * of the event loop share one transaction and one fsync, and each caller's promise
 * resolves only after that commit.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from './sqlite-schema.js';
import {
  domainOf, HOURLY_COUNTS_SQL, hourlyCountsOf,
  type Account, type AdminAccount, type HourlyCount, type AttemptRow, type Block, type MessageFilter, type MessageRow, type NewMessage,
  type QueueStats, type RecipientRow, type RecipientState, type RecipientUpdate, type Store,
} from './store.js';
import { toRecipient } from './rows.js';

type Row = Record<string, unknown>;

interface Pending {
  msg: NewMessage;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private db: Database.Database;
  private pending: Pending[] = [];
  private flushScheduled = false;
  private stmts: Record<string, Database.Statement>;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'outpost.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    const p = (sql: string) => this.db.prepare(sql);
    this.stmts = {
      insertMessage: p(`INSERT INTO messages (id, sender, created, size, body, envid, ret, principal,
        auth_user, client_ip, smtputf8, eight_bit, kind) VALUES (@id, @sender, @created, @size, @body,
        @envid, @ret, @principal, @authUser, @clientIp, @smtputf8, @eightBit, @kind)`),
      insertRecipient: p(`INSERT INTO recipients (message_id, address, domain, orcpt, notify, state,
        next_attempt) VALUES (?, ?, ?, ?, ?, 'queued', ?)`),
      getMessage: p('SELECT id, sender, created, size, envid, ret, principal, auth_user, client_ip, smtputf8, eight_bit, kind FROM messages WHERE id = ?'),
      recipientsOf: p('SELECT * FROM recipients WHERE message_id = ? ORDER BY id'),
      body: p('SELECT body FROM messages WHERE id = ?'),
      due: p('SELECT * FROM recipients WHERE next_attempt IS NOT NULL AND next_attempt <= ? ORDER BY next_attempt LIMIT ?'),
      lease: p('UPDATE recipients SET next_attempt = ?, lease_owner = ? WHERE id = ?'),
      nextDue: p('SELECT MIN(next_attempt) AS t FROM recipients WHERE next_attempt IS NOT NULL'),
      insertAttempt: p(`INSERT INTO attempts (message_id, time, recipients, host, ip, tls, reply, result, node)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      attempts: p('SELECT * FROM attempts WHERE message_id = ? ORDER BY time, id'),
      deleteMessage: p('DELETE FROM messages WHERE id = ?'),
      addEvent: p(`INSERT INTO event_buckets (principal, kind, bucket, n) VALUES (?, ?, ?, ?)
        ON CONFLICT (principal, kind, bucket) DO UPDATE SET n = event_buckets.n + excluded.n`),
      countEvents: p('SELECT COALESCE(SUM(n), 0) AS n FROM event_buckets WHERE principal = ? AND kind = ? AND bucket >= ?'),
      pruneEvents: p('DELETE FROM event_buckets WHERE bucket < ?'),
    };
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < SQLITE_MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(SQLITE_MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  async close(): Promise<void> {
    this.flush();
    this.db.close();
  }

  // ---- queue

  insertMessage(msg: NewMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ msg, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits every pending insert in one transaction: one fsync for the whole group. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const insertAll = this.db.transaction((items: Pending[]) => {
      for (const { msg } of items) this.insertOne(msg);
    });
    this.db.pragma('synchronous = FULL');
    try {
      insertAll(batch);
      for (const p of batch) p.resolve();
    } catch {
      // One bad row must not fail its neighbours: retry each alone.
      for (const p of batch) {
        try {
          this.db.transaction(() => this.insertOne(p.msg))();
          p.resolve();
        } catch (err) {
          p.reject(err);
        }
      }
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  private insertOne(msg: NewMessage): void {
    this.stmts.insertMessage!.run({
      id: msg.id,
      sender: msg.sender,
      created: msg.created,
      size: msg.body.length,
      body: msg.body,
      envid: msg.envid ?? null,
      ret: msg.ret ?? null,
      principal: msg.principal,
      authUser: msg.authUser ?? null,
      clientIp: msg.clientIp ?? null,
      smtputf8: msg.smtputf8 ? 1 : 0,
      eightBit: msg.eightBit ? 1 : 0,
      kind: msg.kind,
    });
    for (const r of msg.recipients) {
      this.stmts.insertRecipient!.run(msg.id, r.address, domainOf(r.address), r.orcpt ?? null,
        r.notify ? r.notify.join(',') : null, msg.created);
    }
  }

  async getMessage(id: string): Promise<MessageRow | null> {
    const row = this.stmts.getMessage!.get(id) as Row | undefined;
    return row ? this.toMessage(row) : null;
  }

  async readBody(id: string): Promise<Buffer | null> {
    const row = this.stmts.body!.get(id) as { body: Buffer | null } | undefined;
    return row?.body ?? null;
  }

  async listMessages(filter: MessageFilter = {}): Promise<MessageRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.sender) { where.push('m.sender = ?'); args.push(filter.sender); }
    if (filter.authUser) { where.push('m.auth_user = ?'); args.push(filter.authUser); }
    if (filter.state || filter.domain) {
      const sub: string[] = [];
      if (filter.state) { sub.push('r.state = ?'); args.push(filter.state); }
      if (filter.domain) { sub.push('r.domain = ?'); args.push(filter.domain.toLowerCase()); }
      where.push(`EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND ${sub.join(' AND ')})`);
    }
    const sql = `SELECT m.id, m.sender, m.created, m.size, m.envid, m.ret, m.principal, m.auth_user, m.client_ip,
      m.smtputf8, m.eight_bit, m.kind FROM messages m ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY m.created DESC, m.id LIMIT ?`;
    args.push(filter.limit ?? 1000);
    const rows = this.db.prepare(sql).all(...args) as Row[];
    return rows.map((r) => this.toMessage(r));
  }

  async claimDue(now: number, limit: number, node: string, leaseMs: number): Promise<RecipientRow[]> {
    return this.db.transaction(() => {
      const rows = (this.stmts.due!.all(now, limit) as Row[]).map(toRecipient);
      for (const r of rows) {
        this.stmts.lease!.run(now + leaseMs, node, r.id);
        r.leaseOwner = node;
      }
      return rows;
    })();
  }

  async nextDue(): Promise<number | null> {
    const row = this.stmts.nextDue!.get() as { t: number | null };
    return row.t;
  }

  async renewLeases(ids: number[], node: string, until: number): Promise<void> {
    const stmt = this.db.prepare('UPDATE recipients SET next_attempt = ? WHERE id = ? AND lease_owner = ? AND next_attempt IS NOT NULL');
    this.db.transaction(() => {
      for (const id of ids) stmt.run(until, id, node);
    })();
  }

  async recordOutcomes(updates: RecipientUpdate[], attempt?: AttemptRow): Promise<void> {
    this.db.transaction(() => {
      for (const u of updates) {
        const sets = ['state = ?', 'next_attempt = ?', 'lease_owner = NULL'];
        const args: unknown[] = [u.state, u.nextAttempt];
        if (u.lastReply !== undefined) { sets.push('last_reply = ?'); args.push(u.lastReply); }
        if (u.incrementAttempts) { sets.push('attempts = attempts + 1', 'last_attempt = ?'); args.push(attempt?.time ?? Date.now()); }
        if (u.doneAt !== undefined) { sets.push('done_at = ?'); args.push(u.doneAt); }
        if (u.nextDelayNotice !== undefined) { sets.push('next_delay_notice = ?'); args.push(u.nextDelayNotice); }
        this.db.prepare(`UPDATE recipients SET ${sets.join(', ')} WHERE id = ?`).run(...args, u.id);
      }
      if (attempt) {
        this.stmts.insertAttempt!.run(attempt.messageId, attempt.time, JSON.stringify(attempt.recipients),
          attempt.host, attempt.ip, attempt.tls ? 1 : 0, attempt.reply, attempt.result, attempt.node);
      }
    })();
  }

  async attempts(messageId: string): Promise<AttemptRow[]> {
    return (this.stmts.attempts!.all(messageId) as Row[]).map((r) => ({
      messageId: r.message_id as string,
      time: r.time as number,
      recipients: JSON.parse(r.recipients as string) as string[],
      host: r.host as string | null,
      ip: r.ip as string | null,
      tls: r.tls === 1,
      reply: r.reply as string | null,
      result: r.result as AttemptRow['result'],
      node: r.node as string,
    }));
  }

  async deleteMessage(id: string): Promise<boolean> {
    return this.stmts.deleteMessage!.run(id).changes > 0;
  }

  async pruneBodies(): Promise<number> {
    return this.db.prepare(`UPDATE messages SET body = NULL WHERE body IS NOT NULL AND NOT EXISTS
      (SELECT 1 FROM recipients r WHERE r.message_id = messages.id AND r.state NOT IN ('delivered', 'bounced'))`)
      .run().changes;
  }

  async stats(): Promise<QueueStats> {
    const recipients: Record<RecipientState, number> = { queued: 0, deferred: 0, delivered: 0, bounced: 0, held: 0 };
    for (const r of this.db.prepare('SELECT state, COUNT(*) AS n FROM recipients GROUP BY state').all() as Row[]) {
      recipients[r.state as RecipientState] = r.n as number;
    }
    const m = this.db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number };
    const o = this.db.prepare(`SELECT MIN(m.created) AS t FROM messages m WHERE EXISTS (SELECT 1 FROM recipients r
      WHERE r.message_id = m.id AND r.state IN ('queued', 'deferred', 'held'))`).get() as { t: number | null };
    return { recipients, messages: m.n, oldestQueued: o.t };
  }

  async hourlyCounts(since: number): Promise<HourlyCount[]> {
    const rows = this.db.prepare(HOURLY_COUNTS_SQL.replaceAll('$1', '@since')).all({ since }) as
      Array<{ h: number; k: string; n: number }>;
    return hourlyCountsOf(rows);
  }

  // ---- accounts

  async addAccount(address: string, hash: string): Promise<boolean> {
    return this.db.prepare('INSERT OR IGNORE INTO accounts (address, hash, created) VALUES (?, ?, ?)')
      .run(address, hash, Date.now()).changes > 0;
  }

  async getAccount(address: string): Promise<Account | null> {
    const row = this.db.prepare('SELECT * FROM accounts WHERE address = ?').get(address) as Row | undefined;
    return row ? this.toAccount(row) : null;
  }

  async listAccounts(): Promise<Account[]> {
    return (this.db.prepare('SELECT * FROM accounts ORDER BY address').all() as Row[]).map((r) => this.toAccount(r));
  }

  async deleteAccount(address: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM accounts WHERE address = ?').run(address).changes > 0;
  }

  async setPassword(address: string, hash: string): Promise<boolean> {
    return this.db.prepare('UPDATE accounts SET hash = ? WHERE address = ?').run(hash, address).changes > 0;
  }

  async addGrant(address: string, pattern: string): Promise<boolean> {
    return this.db.prepare('INSERT OR IGNORE INTO grants (address, pattern) VALUES (?, ?)').run(address, pattern).changes > 0;
  }

  async removeGrant(address: string, pattern: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM grants WHERE address = ? AND pattern = ?').run(address, pattern).changes > 0;
  }

  // ---- operators

  async addAdmin(address: string, hash: string): Promise<boolean> {
    return this.db.prepare('INSERT OR IGNORE INTO admins (address, hash, created) VALUES (?, ?, ?)')
      .run(address, hash, Date.now()).changes > 0;
  }

  async getAdmin(address: string): Promise<AdminAccount | null> {
    const r = this.db.prepare('SELECT address, hash, created FROM admins WHERE address = ?').get(address) as
      AdminAccount | undefined;
    return r ?? null;
  }

  async listAdmins(): Promise<AdminAccount[]> {
    return this.db.prepare('SELECT address, hash, created FROM admins ORDER BY address').all() as AdminAccount[];
  }

  async deleteAdmin(address: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM admins WHERE address = ?').run(address).changes > 0;
  }

  async setAdminPassword(address: string, hash: string): Promise<boolean> {
    return this.db.prepare('UPDATE admins SET hash = ? WHERE address = ?').run(hash, address).changes > 0;
  }

  // ---- blocks and counters

  async addBlock(b: Block): Promise<boolean> {
    return this.db.prepare('INSERT OR IGNORE INTO blocks (principal, reason, since, counts) VALUES (?, ?, ?, ?)')
      .run(b.principal, b.reason, b.since, JSON.stringify(b.counts)).changes > 0;
  }

  async removeBlock(principal: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM blocks WHERE principal = ?').run(principal).changes > 0;
  }

  async getBlock(principal: string): Promise<Block | null> {
    const r = this.db.prepare('SELECT * FROM blocks WHERE principal = ?').get(principal) as Row | undefined;
    return r ? toBlock(r) : null;
  }

  async listBlocks(): Promise<Block[]> {
    return (this.db.prepare('SELECT * FROM blocks ORDER BY since').all() as Row[]).map(toBlock);
  }

  async addEvent(principal: string, kind: string, time: number, n = 1): Promise<void> {
    this.stmts.addEvent!.run(principal, kind, eventBucket(time), n);
  }

  /** Counts whole buckets, so the count may include events up to 10 s before `since`. */
  async countEvents(principal: string, kind: string, since: number): Promise<number> {
    const r = this.stmts.countEvents!.get(principal, kind, eventBucket(since)) as { n: number };
    return r.n;
  }

  /** Drops only buckets that end at or before `before`, never an event at or after it. */
  async pruneEvents(before: number): Promise<void> {
    this.stmts.pruneEvents!.run(eventBucket(before));
  }

  // ---- key/value

  async kvGet(key: string): Promise<string | null> {
    const r = this.db.prepare('SELECT value FROM kv WHERE key = ? AND expires > ?').get(key, Date.now()) as
      { value: string } | undefined;
    return r?.value ?? null;
  }

  async kvSet(key: string, value: string, expires: number): Promise<void> {
    this.db.prepare('INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires')
      .run(key, value, expires);
  }

  async kvDelete(key: string): Promise<void> {
    this.db.prepare('DELETE FROM kv WHERE key = ?').run(key);
  }

  // ---- row mapping

  private toMessage(r: Row): MessageRow {
    return {
      id: r.id as string,
      sender: r.sender as string,
      created: r.created as number,
      size: r.size as number,
      envid: r.envid as string | null,
      ret: r.ret as MessageRow['ret'],
      principal: r.principal as string,
      authUser: r.auth_user as string | null,
      clientIp: r.client_ip as string | null,
      smtputf8: r.smtputf8 === 1,
      eightBit: r.eight_bit === 1,
      kind: r.kind as MessageRow['kind'],
      recipients: (this.stmts.recipientsOf!.all(r.id) as Row[]).map(toRecipient),
    };
  }

  private toAccount(r: Row): Account {
    const grants = (this.db.prepare('SELECT pattern FROM grants WHERE address = ? ORDER BY pattern').all(r.address) as Row[])
      .map((g) => g.pattern as string);
    return { address: r.address as string, hash: r.hash as string, created: r.created as number, grants };
  }
}

function toBlock(r: Row): Block {
  return {
    principal: r.principal as string,
    reason: r.reason as string,
    since: r.since as number,
    counts: JSON.parse(r.counts as string) as Record<string, number>,
  };
}

/**
 * Events are kept as counts per 10-second bucket, so counting an hour reads at most 360 rows
 * however many events a principal has.
 */
function eventBucket(time: number): number {
  return Math.floor(time / 10_000) * 10_000;
}
