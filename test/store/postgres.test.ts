/**
 * What only the PostgreSQL store has: row locks skipped rather than waited for, migrations
 * that several nodes may start at once, and the errors an operator sees when the database is
 * missing or unreachable. The shared behaviour is in store-conformance.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { PG_MIGRATIONS, SchemaTooNewError } from '../../src/store/pg-migrations.js';
import { migratePostgres, PostgresStore } from '../../src/store/postgres.js';
import type { NewMessage } from '../../src/store/store.js';
import { freshDatabase } from '../helpers/pg.js';
import { freePort } from '../helpers/ports.js';

const T0 = 1_800_000_000_000;

function message(id: string, n: number, body = Buffer.from('hello\r\n')): NewMessage {
  return {
    id, sender: 'ann@sender.example.test', body, created: T0, principal: 'ip:127.0.0.1',
    recipients: Array.from({ length: n }, (_, i) => ({ address: `r${i}@dest.example.test` })),
    smtputf8: false, eightBit: false, kind: 'message',
  };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('PostgreSQL store', () => {
  test('claimDue passes over rows another node holds locked instead of waiting', async () => {
    const db = await freshDatabase();
    const store = await PostgresStore.open(db.url, { poolSize: 2 });
    try {
      await store.insertMessage(message('q', 4));
      await withClient(db.url, async (other) => {
        // Another node in the middle of its claim: the first two rows locked, not yet updated.
        await other.query('BEGIN');
        const locked = await other.query('SELECT id FROM recipients ORDER BY id LIMIT 2 FOR UPDATE');
        const lockedIds = locked.rows.map((r: { id: string }) => Number(r.id));
        const got = await store.claimDue(T0, 10, 'node-b', 30_000);
        assert.deepEqual(got.map((r) => r.address), ['r2@dest.example.test', 'r3@dest.example.test']);
        assert.ok(got.every((r) => !lockedIds.includes(r.id)));
        await other.query('ROLLBACK');
      });
      // The other node gave up its claim: those rows are free again.
      const rest = await store.claimDue(T0, 10, 'node-b', 30_000);
      assert.deepEqual(rest.map((r) => r.address), ['r0@dest.example.test', 'r1@dest.example.test']);
    } finally {
      await store.close();
      await db.drop();
    }
  });

  test('a node that dies holding leases: another node takes the work when they run out', async () => {
    const db = await freshDatabase();
    const a = await PostgresStore.open(db.url, { poolSize: 2 });
    const b = await PostgresStore.open(db.url, { poolSize: 2 });
    try {
      await a.insertMessage(message('q', 3));
      assert.equal((await a.claimDue(T0, 10, 'node-a', 30_000)).length, 3);
      await a.close();
      assert.deepEqual(await b.claimDue(T0 + 29_999, 10, 'node-b', 30_000), []);
      const taken = await b.claimDue(T0 + 30_000, 10, 'node-b', 30_000);
      assert.deepEqual(taken.map((r) => r.leaseOwner), ['node-b', 'node-b', 'node-b']);
    } finally {
      await b.close();
      await db.drop();
    }
  });

  test('nodes starting at once on an empty database apply each migration once', async () => {
    const db = await freshDatabase();
    try {
      const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresStore.open(db.url, { poolSize: 1 })));
      await Promise.all(stores.map((s) => s.close()));
      const versions = await withClient(db.url, async (c) =>
        (await c.query('SELECT version FROM schema_version ORDER BY version')).rows.map((r: { version: number }) => r.version));
      assert.deepEqual(versions, PG_MIGRATIONS.map((_, i) => i + 1));
      assert.deepEqual(await migratePostgres(db.url), { from: PG_MIGRATIONS.length, to: PG_MIGRATIONS.length });
    } finally {
      await db.drop();
    }
  });

  test('a schema newer than this program is refused', async () => {
    const db = await freshDatabase();
    try {
      assert.deepEqual(await migratePostgres(db.url), { from: 0, to: PG_MIGRATIONS.length });
      await withClient(db.url, (c) =>
        c.query('INSERT INTO schema_version (version, applied) VALUES ($1, $2)', [PG_MIGRATIONS.length + 1, T0]));
      await assert.rejects(PostgresStore.open(db.url), (err: unknown) => {
        assert.ok(err instanceof SchemaTooNewError);
        assert.match(err.message, new RegExp(`version ${PG_MIGRATIONS.length + 1}, newer than this outpost knows`));
        return true;
      });
    } finally {
      await db.drop();
    }
  });

  test('bodies are stored as bytes: a 5 MB binary body reads back unchanged', async () => {
    const db = await freshDatabase();
    const store = await PostgresStore.open(db.url, { poolSize: 2 });
    try {
      const body = Buffer.alloc(5 * 1024 * 1024);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 0xff;
      await store.insertMessage(message('big', 1, body));
      assert.ok(body.equals((await store.readBody('big'))!));
      assert.equal((await store.getMessage('big'))!.size, 5 * 1024 * 1024);
    } finally {
      await store.close();
      await db.drop();
    }
  });

  test('an unreachable server is ECONNREFUSED; a missing database says what to do, without the password', async () => {
    const port = await freePort();
    await assert.rejects(PostgresStore.open(`postgres://postgres@127.0.0.1:${port}/outpost`), { code: 'ECONNREFUSED' });
    const url = 'postgres://postgres:pw-secret@127.0.0.1:5432/outpost_test_no_such_database';
    await assert.rejects(PostgresStore.open(url), (err: Error & { code?: string }) => {
      assert.equal(err.code, '3D000');
      assert.equal(err.message, 'cannot open the PostgreSQL store at postgres://postgres:***@127.0.0.1:5432/' +
        'outpost_test_no_such_database: database "outpost_test_no_such_database" does not exist; ' +
        'create the database (createdb) or fix store.postgres in the config');
      return true;
    });
  });
});
