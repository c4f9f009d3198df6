/**
 * The PostgreSQL store's schema, as numbered migrations, and the code that applies them.
 *
 * Migration N (1-based) is SQL_MIGRATIONS[N - 1]; schema_version holds one row per applied
 * migration. Never edit an applied migration: append a new one. Several gateways may start at
 * once against an empty database, so applying runs under an advisory lock and re-reads the
 * version after taking it: the first node migrates, the others find nothing left to do.
 *
 * The columns mirror the SQLite store's so both behave alike: times are bigint milliseconds
 * since the epoch, bodies are bytea, and keys that are listed in order (ids, addresses) use
 * the "C" collation so they sort by bytes, as SQLite does, whatever the database's locale.
 */
import type pg from 'pg';

export const PG_MIGRATIONS: string[] = [
  `
  CREATE TABLE messages (
    id text COLLATE "C" PRIMARY KEY,
    sender text COLLATE "C" NOT NULL,
    created bigint NOT NULL,
    size integer NOT NULL,
    body bytea,
    envid text,
    ret text,
    principal text NOT NULL,
    auth_user text COLLATE "C",
    client_ip text,
    smtputf8 boolean NOT NULL,
    eight_bit boolean NOT NULL,
    kind text NOT NULL
  );
  CREATE INDEX messages_auth_user ON messages (auth_user, created);
  CREATE INDEX messages_sender ON messages (sender, created);
  CREATE INDEX messages_created ON messages (created);

  CREATE TABLE recipients (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id text COLLATE "C" NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    address text NOT NULL,
    domain text NOT NULL,
    orcpt text,
    notify text,
    state text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt bigint,
    lease_owner text,
    last_reply text,
    last_attempt bigint,
    done_at bigint,
    next_delay_notice bigint
  );
  -- Due work is one range scan; final recipients (next_attempt NULL) are not in the index.
  CREATE INDEX recipients_due ON recipients (next_attempt, id) WHERE next_attempt IS NOT NULL;
  CREATE INDEX recipients_message ON recipients (message_id);
  CREATE INDEX recipients_state_domain ON recipients (state, domain);

  CREATE TABLE attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id text COLLATE "C" NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    time bigint NOT NULL,
    recipients text[] NOT NULL,
    host text,
    ip text,
    tls boolean NOT NULL,
    reply text,
    result text NOT NULL,
    node text NOT NULL
  );
  CREATE INDEX attempts_message ON attempts (message_id, time);

  CREATE TABLE accounts (
    address text COLLATE "C" PRIMARY KEY,
    hash text NOT NULL,
    created bigint NOT NULL
  );
  CREATE TABLE grants (
    address text COLLATE "C" NOT NULL REFERENCES accounts (address) ON DELETE CASCADE,
    pattern text COLLATE "C" NOT NULL,
    PRIMARY KEY (address, pattern)
  );

  CREATE TABLE blocks (
    principal text COLLATE "C" PRIMARY KEY,
    reason text NOT NULL,
    since bigint NOT NULL,
    counts jsonb NOT NULL
  );
  CREATE TABLE events (
    principal text NOT NULL,
    kind text NOT NULL,
    time bigint NOT NULL,
    n integer NOT NULL
  );
  CREATE INDEX events_lookup ON events (principal, kind, time);
  CREATE INDEX events_time ON events (time);

  CREATE TABLE kv (
    key text COLLATE "C" PRIMARY KEY,
    value text NOT NULL,
    expires bigint NOT NULL
  );
  `,
  // 2: operators of the admin page, apart from mailbox accounts; indexes for its hourly charts.
  `
  CREATE TABLE admins (
    address text COLLATE "C" PRIMARY KEY,
    hash text NOT NULL,
    created bigint NOT NULL
  );
  CREATE INDEX recipients_done ON recipients (done_at) WHERE done_at IS NOT NULL;
  CREATE INDEX attempts_time ON attempts (time);
  `,
  // 3: events as 10-second buckets, one row per (principal, kind, bucket): a count over the
  // last hour reads at most 360 rows however busy the principal, where one row per event made
  // it grow with the principal's own traffic. Existing events are folded into their buckets.
  `
  CREATE TABLE event_buckets (
    principal text NOT NULL,
    kind text NOT NULL,
    bucket bigint NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (principal, kind, bucket)
  );
  CREATE INDEX event_buckets_bucket ON event_buckets (bucket);
  INSERT INTO event_buckets (principal, kind, bucket, n)
    SELECT principal, kind, (time / 10000) * 10000, SUM(n) FROM events GROUP BY 1, 2, 3;
  DROP TABLE events;
  `,
];

/** Any fixed number, the same on every node: the key of the migration advisory lock. */
const MIGRATION_LOCK = 0x6f7574706f7374n; // "outpost"

export interface MigrationResult {
  /** Schema version found before migrating (0: empty database). */
  from: number;
  /** Schema version after migrating. */
  to: number;
}

/** The database's schema is newer than this program: an older node must not write to it. */
export class SchemaTooNewError extends Error {
  constructor(readonly found: number, readonly known: number) {
    super(`the database schema is at version ${found}, newer than this outpost knows (${known}); ` +
      'upgrade outpost on this node');
  }
}

async function currentVersion(client: pg.ClientBase): Promise<number> {
  const r = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version');
  return Number(r.rows[0]?.v ?? 0);
}

/**
 * Applies pending migrations on one connection of `pool`, each in its own transaction, while
 * holding the advisory lock. Safe to call from several nodes at once, and again and again.
 */
export async function migrate(pool: pg.Pool): Promise<MigrationResult> {
  const client = await pool.connect();
  let locked = false;
  let failed: Error | undefined;
  try {
    // The lock comes first: even CREATE TABLE IF NOT EXISTS fails when two sessions run it at
    // the same instant.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    locked = true;
    await client.query(`CREATE TABLE IF NOT EXISTS schema_version (
      version integer PRIMARY KEY,
      applied bigint NOT NULL
    )`);
    const from = await currentVersion(client);
    if (from > PG_MIGRATIONS.length) throw new SchemaTooNewError(from, PG_MIGRATIONS.length);
    for (let v = from; v < PG_MIGRATIONS.length; v++) {
      await client.query('BEGIN');
      try {
        await client.query(PG_MIGRATIONS[v]!);
        await client.query('INSERT INTO schema_version (version, applied) VALUES ($1, $2)', [v + 1, Date.now()]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
    return { from, to: PG_MIGRATIONS.length };
  } catch (err) {
    failed = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    if (locked) await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]).catch(() => undefined);
    // A connection that failed is not handed back to the pool for reuse.
    client.release(failed);
  }
}
