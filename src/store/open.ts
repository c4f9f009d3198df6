/** Opens the store the config names: PostgreSQL when store.postgres is set, else SQLite. */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, type LoadedConfig } from '../config/load.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export async function openStore(cfg: LoadedConfig): Promise<Store> {
  if (cfg.store.postgres) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(cfg.store.postgres);
  }
  try {
    ensureDir(resolve(cfg.data_dir));
    return new SqliteStore(cfg.data_dir);
  } catch (err) {
    const where = cfg.source ?? '(embedded defaults)';
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`${where}: key data_dir: cannot keep the queue in ${cfg.data_dir} (${e.code ?? e.message})`);
  }
}

/**
 * Creates a folder and its missing parents one level at a time. Node's recursive mkdir
 * never returns for some paths (under /proc, for one); this fails at once instead.
 */
function ensureDir(dir: string): void {
  try {
    if (statSync(dir).isDirectory()) return;
    throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const parent = dirname(dir);
  if (parent !== dir) ensureDir(parent);
  mkdirSync(dir);
}
