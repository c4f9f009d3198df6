/**
 * The PostgreSQL store, for several gateways sharing one queue, one set of accounts and one
 * set of blocks. It behaves like the SQLite store (same ordering, same return values); what
 * differs is how work is shared:
 *
 * - claimDue takes leases in one statement with FOR UPDATE SKIP LOCKED, so two nodes never
 *   take the same recipient, and neither waits for the other's rows. The lease is the pushed
 *   forward next_attempt: a node that dies simply lets its recipients fall due again.
 * - insertMessage resolves after COMMIT, and PostgreSQL's default synchronous_commit=on
 *   flushes the WAL before it acknowledges a COMMIT: a resolved insert is on disk.
 *
 * The schema migrates itself on open (see pg-migrations.ts). Times are bigint milliseconds;
 * bigint columns come back as JS numbers (every value here is far below 2^53).
 */
import pg from 'pg';
import { maillog } from '../maillog/log.js';
import { migrate, SchemaTooNewError, type MigrationResult } from './pg-migrations.js';
import { PgInsertBatcher } from './pg-insert.js';
import {
  HOURLY_COUNTS_SQL, hourlyCountsOf,
  type Account, type AdminAccount, type HourlyCount, type AttemptRow, type Block, type MessageFilter, type MessageRow, type NewMessage,
  type QueueStats, type RecipientRow, type RecipientState, type RecipientUpdate, type Store,
} from './store.js';
import { toRecipient } from './rows.js';

type Row = Record<string, unknown>;

export interface PostgresOptions {
  /** Connections per node; the queue runner, sessions and the web share them. */
  poolSize?: number;
}

const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as
    typeof pg.types.getTypeParser,
};

/** The URL without its password, for messages that may end up in a log or a terminal. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable store.postgres URL)';
  }
}

export const PostgresStore = {
  /** Connects, applies pending migrations (under an advisory lock) and returns the store. */
  async open(url: string, opts: PostgresOptions = {}): Promise<Store> {
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: 10_000,
      application_name: 'outpost',
      types,
    });
    // A connection that breaks while idle in the pool is replaced on next use; without a
    // listener the pool's 'error' event would end the process.
    pool.on('error', (err) => maillog.warn({ store: 'postgres', err: err.message }, 'database connection lost'));
    try {
      await migrate(pool);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw describeOpenError(err, url);
    }
    return new PgStore(pool);
  },
};

/** `outpost db migrate`: applies pending migrations on one connection and disconnects. */
export async function migratePostgres(url: string): Promise<MigrationResult> {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000, application_name: 'outpost' });
  pool.on('error', () => undefined);
  try {
    return await migrate(pool);
  } catch (err) {
    throw describeOpenError(err, url);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** Keeps the error's code (reportAndExit knows ECONNREFUSED) and says where and what to do. */
function describeOpenError(err: unknown, url: string): unknown {
  const e = err as Error & { code?: string };
  if (!(e instanceof Error) || e instanceof SchemaTooNewError || e.code === 'ECONNREFUSED') return err;
  const hint: Record<string, string> = {
    '3D000': 'create the database (createdb) or fix store.postgres in the config',
    '28P01': 'check the user and password in store.postgres',
    '28000': 'check the user in store.postgres and pg_hba.conf',
  };
  const out = new Error(`cannot open the PostgreSQL store at ${redactUrl(url)}: ${e.message}` +
    (e.code && hint[e.code] ? `; ${hint[e.code]}` : '')) as Error & { code?: string };
  out.code = e.code;
  return out;
}

class PgStore implements Store {
  readonly kind = 'postgres' as const;
  private inserts: PgInsertBatcher;

  constructor(private pool: pg.Pool) {
    this.inserts = new PgInsertBatcher(pool);
  }

  async close(): Promise<void> {
    await this.inserts.drain();
    await this.pool.end();
  }

  private async rows(sql: string, args: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(sql, args)).rows as Row[];
  }

  private async changed(sql: string, args: unknown[]): Promise<boolean> {
    return ((await this.pool.query(sql, args)).rowCount ?? 0) > 0;
  }

  /** Runs `fn` in one transaction on one connection of the pool. */
  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      c.release();
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      c.release(err instanceof Error ? err : true);
      throw err;
    }
  }

  // ---- queue

  insertMessage(msg: NewMessage): Promise<void> {
    return this.inserts.insert(msg);
  }

  async getMessage(id: string): Promise<MessageRow | null> {
    const rows = await this.rows(`${MESSAGE_COLUMNS} FROM messages m WHERE m.id = $1`, [id]);
    return (await this.withRecipients(rows))[0] ?? null;
  }

  async readBody(id: string): Promise<Buffer | null> {
    const rows = await this.rows('SELECT body FROM messages WHERE id = $1', [id]);
    return (rows[0]?.body as Buffer | null | undefined) ?? null;
  }

  async listMessages(filter: MessageFilter = {}): Promise<MessageRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => { args.push(v); return `$${args.length}`; };
    if (filter.sender) where.push(`m.sender = ${arg(filter.sender)}`);
    if (filter.authUser) where.push(`m.auth_user = ${arg(filter.authUser)}`);
    if (filter.state || filter.domain) {
      const sub: string[] = [];
      if (filter.state) sub.push(`r.state = ${arg(filter.state)}`);
      if (filter.domain) sub.push(`r.domain = ${arg(filter.domain.toLowerCase())}`);
      where.push(`EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND ${sub.join(' AND ')})`);
    }
    const sql = `${MESSAGE_COLUMNS} FROM messages m ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
      ORDER BY m.created DESC, m.id LIMIT ${arg(filter.limit ?? 1000)}`;
    return this.withRecipients(await this.rows(sql, args));
  }

  /** Maps message rows and fetches all their recipients in one query. */
  private async withRecipients(rows: Row[]): Promise<MessageRow[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id as string);
    const byMessage = new Map<string, RecipientRow[]>(ids.map((id) => [id, []]));
    for (const r of await this.rows('SELECT * FROM recipients WHERE message_id = ANY($1) ORDER BY id', [ids])) {
      byMessage.get(r.message_id as string)?.push(toRecipient(r));
    }
    return rows.map((r) => toMessage(r, byMessage.get(r.id as string) ?? []));
  }

  async claimDue(now: number, limit: number, node: string, leaseMs: number): Promise<RecipientRow[]> {
    // SKIP LOCKED: rows another node is claiming right now are passed over, not waited for.
    // A row another node claimed and committed since our snapshot is re-checked against
    // next_attempt <= now on its new version (READ COMMITTED), and so dropped.
    // Like the SQLite store, the rows carry the due time they had when claimed.
    const rows = await this.rows(`
      WITH due AS (
        SELECT id, next_attempt FROM recipients
        WHERE next_attempt IS NOT NULL AND next_attempt <= $1
        ORDER BY next_attempt, id
        LIMIT $2
        FOR UPDATE SKIP LOCKED
      ), claimed AS (
        UPDATE recipients r SET next_attempt = $1::bigint + $4::bigint, lease_owner = $3
        FROM due WHERE r.id = due.id
        RETURNING r.*, due.next_attempt AS due_at
      )
      SELECT * FROM claimed ORDER BY due_at, id`, [now, limit, node, leaseMs]);
    return rows.map((r) => ({ ...toRecipient(r), nextAttempt: r.due_at as number }));
  }

  async nextDue(): Promise<number | null> {
    const rows = await this.rows('SELECT MIN(next_attempt) AS t FROM recipients WHERE next_attempt IS NOT NULL');
    return (rows[0]?.t as number | null | undefined) ?? null;
  }

  async renewLeases(ids: number[], node: string, until: number): Promise<void> {
    if (ids.length === 0) return;
    await this.rows(`UPDATE recipients SET next_attempt = $1 WHERE id = ANY($2) AND lease_owner = $3
      AND next_attempt IS NOT NULL RETURNING id`, [until, ids, node]);
  }

  async recordOutcomes(updates: RecipientUpdate[], attempt?: AttemptRow): Promise<void> {
    if (updates.length === 0 && !attempt) return;
    await this.transaction(async (c) => {
      for (const u of updates) {
        const args: unknown[] = [u.state, u.nextAttempt];
        const sets = ['state = $1', 'next_attempt = $2', 'lease_owner = NULL'];
        const set = (col: string, v: unknown) => { args.push(v); sets.push(`${col} = $${args.length}`); };
        if (u.lastReply !== undefined) set('last_reply', u.lastReply);
        if (u.incrementAttempts) {
          sets.push('attempts = attempts + 1');
          set('last_attempt', attempt?.time ?? Date.now());
        }
        if (u.doneAt !== undefined) set('done_at', u.doneAt);
        if (u.nextDelayNotice !== undefined) set('next_delay_notice', u.nextDelayNotice);
        args.push(u.id);
        await c.query(`UPDATE recipients SET ${sets.join(', ')} WHERE id = $${args.length}`, args);
      }
      if (attempt) {
        await c.query(`INSERT INTO attempts (message_id, time, recipients, host, ip, tls, reply, result, node)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [attempt.messageId, attempt.time, attempt.recipients,
          attempt.host, attempt.ip, attempt.tls, attempt.reply, attempt.result, attempt.node]);
      }
    });
  }

  async attempts(messageId: string): Promise<AttemptRow[]> {
    const rows = await this.rows('SELECT * FROM attempts WHERE message_id = $1 ORDER BY time, id', [messageId]);
    return rows.map((r) => ({
      messageId: r.message_id as string,
      time: r.time as number,
      recipients: r.recipients as string[],
      host: r.host as string | null,
      ip: r.ip as string | null,
      tls: r.tls as boolean,
      reply: r.reply as string | null,
      result: r.result as AttemptRow['result'],
      node: r.node as string,
    }));
  }

  async deleteMessage(id: string): Promise<boolean> {
    return this.changed('DELETE FROM messages WHERE id = $1', [id]);
  }

  async pruneBodies(): Promise<number> {
    const r = await this.pool.query(`UPDATE messages SET body = NULL WHERE body IS NOT NULL AND NOT EXISTS
      (SELECT 1 FROM recipients r WHERE r.message_id = messages.id AND r.state NOT IN ('delivered', 'bounced'))`);
    return r.rowCount ?? 0;
  }

  async stats(): Promise<QueueStats> {
    const recipients: Record<RecipientState, number> = { queued: 0, deferred: 0, delivered: 0, bounced: 0, held: 0 };
    const [byState, messages, oldest] = await Promise.all([
      this.rows('SELECT state, COUNT(*) AS n FROM recipients GROUP BY state'),
      this.rows('SELECT COUNT(*) AS n FROM messages'),
      this.rows(`SELECT MIN(m.created) AS t FROM messages m WHERE EXISTS (SELECT 1 FROM recipients r
        WHERE r.message_id = m.id AND r.state IN ('queued', 'deferred', 'held'))`),
    ]);
    for (const r of byState) recipients[r.state as RecipientState] = r.n as number;
    return { recipients, messages: messages[0]!.n as number, oldestQueued: (oldest[0]?.t as number | null) ?? null };
  }

  async hourlyCounts(since: number): Promise<HourlyCount[]> {
    const rows = await this.rows(HOURLY_COUNTS_SQL, [since]);
    return hourlyCountsOf(rows as Array<{ h: number; k: string; n: number }>);
  }

  // ---- accounts

  async addAccount(address: string, hash: string): Promise<boolean> {
    return this.changed('INSERT INTO accounts (address, hash, created) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [address, hash, Date.now()]);
  }

  async getAccount(address: string): Promise<Account | null> {
    const rows = await this.rows(`${ACCOUNT_QUERY} WHERE a.address = $1 GROUP BY a.address`, [address]);
    return rows[0] ? toAccount(rows[0]) : null;
  }

  async listAccounts(): Promise<Account[]> {
    return (await this.rows(`${ACCOUNT_QUERY} GROUP BY a.address ORDER BY a.address`)).map(toAccount);
  }

  async deleteAccount(address: string): Promise<boolean> {
    return this.changed('DELETE FROM accounts WHERE address = $1', [address]);
  }

  async setPassword(address: string, hash: string): Promise<boolean> {
    return this.changed('UPDATE accounts SET hash = $1 WHERE address = $2', [hash, address]);
  }

  async addGrant(address: string, pattern: string): Promise<boolean> {
    return this.changed('INSERT INTO grants (address, pattern) VALUES ($1, $2) ON CONFLICT DO NOTHING', [address, pattern]);
  }

  async removeGrant(address: string, pattern: string): Promise<boolean> {
    return this.changed('DELETE FROM grants WHERE address = $1 AND pattern = $2', [address, pattern]);
  }

  // ---- operators

  async addAdmin(address: string, hash: string): Promise<boolean> {
    return this.changed('INSERT INTO admins (address, hash, created) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [address, hash, Date.now()]);
  }

  async getAdmin(address: string): Promise<AdminAccount | null> {
    const rows = await this.rows('SELECT address, hash, created FROM admins WHERE address = $1', [address]);
    return rows[0] ? toAdmin(rows[0]) : null;
  }

  async listAdmins(): Promise<AdminAccount[]> {
    return (await this.rows('SELECT address, hash, created FROM admins ORDER BY address')).map(toAdmin);
  }

  async deleteAdmin(address: string): Promise<boolean> {
    return this.changed('DELETE FROM admins WHERE address = $1', [address]);
  }

  async setAdminPassword(address: string, hash: string): Promise<boolean> {
    return this.changed('UPDATE admins SET hash = $1 WHERE address = $2', [hash, address]);
  }

  // ---- blocks and counters

  async addBlock(b: Block): Promise<boolean> {
    return this.changed('INSERT INTO blocks (principal, reason, since, counts) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [b.principal, b.reason, b.since, JSON.stringify(b.counts)]);
  }

  async removeBlock(principal: string): Promise<boolean> {
    return this.changed('DELETE FROM blocks WHERE principal = $1', [principal]);
  }

  async getBlock(principal: string): Promise<Block | null> {
    const rows = await this.rows('SELECT * FROM blocks WHERE principal = $1', [principal]);
    return rows[0] ? toBlock(rows[0]) : null;
  }

  async listBlocks(): Promise<Block[]> {
    return (await this.rows('SELECT * FROM blocks ORDER BY since, principal')).map(toBlock);
  }

  async addEvent(principal: string, kind: string, time: number, n = 1): Promise<void> {
    await this.pool.query(`INSERT INTO event_buckets (principal, kind, bucket, n) VALUES ($1, $2, $3, $4)
      ON CONFLICT (principal, kind, bucket) DO UPDATE SET n = event_buckets.n + excluded.n`,
    [principal, kind, eventBucket(time), n]);
  }

  /** Counts whole buckets, so the count may include events up to 10 s before `since`. */
  async countEvents(principal: string, kind: string, since: number): Promise<number> {
    const rows = await this.rows('SELECT COALESCE(SUM(n), 0) AS n FROM event_buckets WHERE principal = $1 AND kind = $2 AND bucket >= $3',
      [principal, kind, eventBucket(since)]);
    return rows[0]!.n as number;
  }

  /** Drops only buckets that end at or before `before`, never an event at or after it. */
  async pruneEvents(before: number): Promise<void> {
    await this.pool.query('DELETE FROM event_buckets WHERE bucket < $1', [eventBucket(before)]);
  }

  // ---- key/value

  async kvGet(key: string): Promise<string | null> {
    const rows = await this.rows('SELECT value FROM kv WHERE key = $1 AND expires > $2', [key, Date.now()]);
    return (rows[0]?.value as string | undefined) ?? null;
  }

  async kvSet(key: string, value: string, expires: number): Promise<void> {
    await this.pool.query(`INSERT INTO kv (key, value, expires) VALUES ($1, $2, $3)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires`, [key, value, expires]);
  }

  async kvDelete(key: string): Promise<void> {
    await this.pool.query('DELETE FROM kv WHERE key = $1', [key]);
  }
}

// ---- row mapping

const MESSAGE_COLUMNS = `SELECT m.id, m.sender, m.created, m.size, m.envid, m.ret, m.principal, m.auth_user,
  m.client_ip, m.smtputf8, m.eight_bit, m.kind`;

const ACCOUNT_QUERY = `SELECT a.address, a.hash, a.created,
  COALESCE(array_agg(g.pattern ORDER BY g.pattern) FILTER (WHERE g.pattern IS NOT NULL), '{}') AS grants
  FROM accounts a LEFT JOIN grants g ON g.address = a.address`;

function toMessage(r: Row, recipients: RecipientRow[]): MessageRow {
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
    smtputf8: r.smtputf8 as boolean,
    eightBit: r.eight_bit as boolean,
    kind: r.kind as MessageRow['kind'],
    recipients,
  };
}

function toAccount(r: Row): Account {
  return { address: r.address as string, hash: r.hash as string, created: r.created as number, grants: r.grants as string[] };
}

function toAdmin(r: Row): AdminAccount {
  return { address: r.address as string, hash: r.hash as string, created: r.created as number };
}

function toBlock(r: Row): Block {
  return {
    principal: r.principal as string,
    reason: r.reason as string,
    since: r.since as number,
    counts: r.counts as Record<string, number>,
  };
}

/**
 * Events are kept as counts per 10-second bucket, so counting an hour reads at most 360 rows
 * however many events a principal has.
 */
function eventBucket(time: number): number {
  return Math.floor(time / 10_000) * 10_000;
}
