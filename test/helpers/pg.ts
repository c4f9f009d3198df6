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

/** Drops test databases left behind by test processes that are gone (killed mid-test). */
async function dropOrphans(c: pg.Client): Promise<void> {
  const rows = (await c.query("SELECT datname FROM pg_database WHERE datname LIKE 'outpost\\_test\\_%'")).rows as { datname: string }[];
  for (const { datname } of rows) {
    const pid = Number(/^outpost_test_(\d+)_[0-9a-f]+$/.exec(datname)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let orphansChecked = false;

export async function freshDatabase(): Promise<FreshDatabase> {
  // Names are identifiers we build ourselves: lower-case letters, digits and underscores.
  const name = `outpost_test_${process.pid}_${randomBytes(5).toString('hex')}`;
  await admin(async (c) => {
    // Only on the local server: there a database's pid names a process of this machine.
    if (!orphansChecked && !process.env.OUTPOST_TEST_PG) {
      orphansChecked = true;
      await dropOrphans(c);
    }
    await c.query(`CREATE DATABASE ${name}`);
  });
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
