/** Opens the store the config names: PostgreSQL when store.postgres is set, else SQLite. */
import type { LoadedConfig } from '../config/load.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export async function openStore(cfg: LoadedConfig): Promise<Store> {
  if (cfg.store.postgres) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(cfg.store.postgres);
  }
  return new SqliteStore(cfg.data_dir);
}
