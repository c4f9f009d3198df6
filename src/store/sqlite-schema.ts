/** The embedded store's tables. Versioned so later changes migrate in place. */
export const SQLITE_MIGRATIONS: string[] = [
  `
  CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    created INTEGER NOT NULL,
    size INTEGER NOT NULL,
    body BLOB,
    envid TEXT,
    ret TEXT,
    principal TEXT NOT NULL,
    auth_user TEXT,
    client_ip TEXT,
    smtputf8 INTEGER NOT NULL,
    eight_bit INTEGER NOT NULL,
    kind TEXT NOT NULL
  );
  CREATE INDEX messages_auth_user ON messages (auth_user, created);
  CREATE INDEX messages_created ON messages (created);
  CREATE TABLE recipients (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    domain TEXT NOT NULL,
    orcpt TEXT,
    notify TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER,
    lease_owner TEXT,
    last_reply TEXT,
    last_attempt INTEGER,
    done_at INTEGER,
    next_delay_notice INTEGER
  );
  CREATE INDEX recipients_due ON recipients (next_attempt) WHERE next_attempt IS NOT NULL;
  CREATE INDEX recipients_message ON recipients (message_id);
  CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    time INTEGER NOT NULL,
    recipients TEXT NOT NULL,
    host TEXT,
    ip TEXT,
    tls INTEGER NOT NULL,
    reply TEXT,
    result TEXT NOT NULL,
    node TEXT NOT NULL
  );
  CREATE INDEX attempts_message ON attempts (message_id, time);
  CREATE TABLE accounts (
    address TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    created INTEGER NOT NULL
  );
  CREATE TABLE grants (
    address TEXT NOT NULL REFERENCES accounts (address) ON DELETE CASCADE,
    pattern TEXT NOT NULL,
    PRIMARY KEY (address, pattern)
  );
  CREATE TABLE blocks (
    principal TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    since INTEGER NOT NULL,
    counts TEXT NOT NULL
  );
  CREATE TABLE events (
    principal TEXT NOT NULL,
    kind TEXT NOT NULL,
    time INTEGER NOT NULL,
    n INTEGER NOT NULL
  );
  CREATE INDEX events_lookup ON events (principal, kind, time);
  CREATE INDEX events_time ON events (time);
  CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires INTEGER NOT NULL
  );
  `,
  // Operators of the admin page, apart from mailbox accounts; indexes for its hourly charts.
  `
  CREATE TABLE admins (
    address TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    created INTEGER NOT NULL
  );
  CREATE INDEX recipients_done ON recipients (done_at) WHERE done_at IS NOT NULL;
  CREATE INDEX attempts_time ON attempts (time);
  `,
  // Events as 10-second buckets, one row per (principal, kind, bucket): a count over the last
  // hour reads at most 360 rows however busy the principal, where one row per event made it
  // grow with the principal's own traffic. Existing events are folded into their buckets.
  `
  CREATE TABLE event_buckets (
    principal TEXT NOT NULL,
    kind TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (principal, kind, bucket)
  ) WITHOUT ROWID;
  CREATE INDEX event_buckets_bucket ON event_buckets (bucket);
  INSERT INTO event_buckets (principal, kind, bucket, n)
    SELECT principal, kind, (CAST(time AS INTEGER) / 10000) * 10000, SUM(n) FROM events GROUP BY 1, 2, 3;
  DROP TABLE events;
  `,
];
