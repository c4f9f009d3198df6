/**
 * The two store implementations as test backends: each gives a fresh, empty store and a way to
 * open more handles on the same data (a second node, or the same node after a restart).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { freshDatabase } from '../helpers/pg.js';

export interface Backing {
  /** Opens one more handle (its own connection or pool) on the same data. */
  open(): Promise<Store>;
  /** Removes the data; the test closes its handles first. */
  remove(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  create(): Promise<Backing>;
}

export const sqliteBackend: Backend = {
  name: 'sqlite',
  async create() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'outpost-store-'));
    return {
      open: async () => new SqliteStore(dir),
      remove: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

export const postgresBackend: Backend = {
  name: 'postgres',
  async create() {
    const db = await freshDatabase();
    // Small pools: test files run in parallel against one server with 100 connections.
    return { open: () => PostgresStore.open(db.url, { poolSize: 4 }), remove: () => db.drop() };
  },
};

export const BACKENDS: Backend[] = [sqliteBackend, postgresBackend];

/** Runs `fn` with fresh data and as many handles as it asks for, closing and removing all. */
export async function withBacking<T>(backend: Backend, fn: (b: Backing, open: () => Promise<Store>) => Promise<T>): Promise<T> {
  const backing = await backend.create();
  const opened: Store[] = [];
  const open = async () => {
    const s = await backing.open();
    opened.push(s);
    return s;
  };
  try {
    return await fn(backing, open);
  } finally {
    for (const s of opened) await s.close().catch(() => undefined);
    await backing.remove();
  }
}

/** Runs `fn` with one fresh store. */
export function withFreshStore<T>(backend: Backend, fn: (s: Store) => Promise<T>): Promise<T> {
  return withBacking(backend, async (_b, open) => fn(await open()));
}
