/**
 * A fresh, uniquely named PostgreSQL database per test, on the machine's server
 * (127.0.0.1:5432, user postgres, trust authentication), dropped again afterwards.
 * OUTPOST_TEST_PG may name another server as a URL without a database path.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const SERVER = process.env.OUTPOST_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432';

export interface FreshDatabase {
  /** Connection URL of the new, empty database. */
  url: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: `${SERVER}/postgres` });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function freshDatabase(): Promise<FreshDatabase> {
  // Names are identifiers we build ourselves: lower-case letters, digits and underscores.
  const name = `outpost_test_${process.pid}_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  let dropped = false;
  return {
    url: `${SERVER}/${name}`,
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
