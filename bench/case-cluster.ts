/**
 * Case 5, cluster: the end-to-end load (N x 1 KB to the sink) on one node with SQLite, one
 * node with PostgreSQL, and two nodes sharing one PostgreSQL database (the load generator
 * spreads its connections over both; leases keep them from delivering the same recipient).
 * Each PostgreSQL run gets a fresh database on the machine's server, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadParams } from './case-basic.js';
import { logNote, type BenchContext } from './context.js';
import { measure, type RunFigures } from './measure.js';
import type { OutpostOptions } from './outpost.js';

const SERVER = process.env.BENCH_PG ?? process.env.OUTPOST_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432';

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: `${SERVER}/postgres`, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
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

/** A fresh database (name outpost_bench_<pid>_<hex>); earlier benches' leftovers are dropped. */
async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `outpost_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(async (c) => {
    const rows = (await c.query("SELECT datname FROM pg_database WHERE datname LIKE 'outpost\\_bench\\_%'")).rows as { datname: string }[];
    for (const { datname } of rows) {
      const pid = Number(/^outpost_bench_(\d+)_/.exec(datname)?.[1]);
      if (pid && !alive(pid)) await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
    }
    await c.query(`CREATE DATABASE ${name}`);
  });
  return {
    url: `${SERVER}/${name}`,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function clusterRun(ctx: BenchContext, system: string, nodes: Array<Partial<OutpostOptions>>): Promise<RunFigures> {
  const n = ctx.settings.clusterN;
  const run = await ctx.withOutposts(`cluster-${system.replace(/\W+/g, '-')}`, nodes, (os, sink) =>
    measure(loadParams(ctx, os.map((o) => o.submission), n, 1024), sink, () => os.reduce((sum, o) => sum + o.cpuMs(), 0)));
  ctx.report.add({ case: 'cluster', system, ...run.result, peakMb: run.peakMb, note: logNote(run.events) });
  return run.result;
}

export const clusterUnits = (ctx: BenchContext): number => 3 * ctx.settings.clusterN;

export async function clusterCase(ctx: BenchContext): Promise<void> {
  const n = ctx.settings.clusterN;
  console.log(`\n== cluster: ${n} x 1 KB end to end; SQLite, PostgreSQL, two nodes on one PostgreSQL`);
  const sqlite = await clusterRun(ctx, '1 node sqlite', [{}]);

  const pgUp = await admin(async () => true).catch((err: Error) => {
    ctx.report.note(`cluster: PostgreSQL runs skipped: ${SERVER} does not answer (${err.message})`);
    return false;
  });
  if (!pgUp) {
    ctx.skip(2 * n);
    return;
  }

  const db1 = await freshDatabase();
  let one: RunFigures;
  try {
    one = await clusterRun(ctx, '1 node postgres', [{ extra: { store: { postgres: db1.url } }, nodeId: 'bench-a' }]);
  } finally {
    await db1.drop();
  }
  const db2 = await freshDatabase();
  let two: RunFigures;
  try {
    const store = { store: { postgres: db2.url } };
    two = await clusterRun(ctx, '2 nodes postgres', [{ extra: store, nodeId: 'bench-a' }, { extra: store, nodeId: 'bench-b' }]);
  } finally {
    await db2.drop();
  }
  const r = (what: string, a?: number, b?: number): void => {
    if (a && b) ctx.report.ratio({ case: 'cluster', what, value: a / b });
  };
  r('2 nodes / 1 node postgres, end-to-end rate', two.e2eRate, one.e2eRate);
  r('1 node postgres / 1 node sqlite, end-to-end rate', one.e2eRate, sqlite.e2eRate);
}
