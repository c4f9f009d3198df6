/**
 * Builds the running gateway's shared parts (AppContext) from a loaded config: the store,
 * the DNS resolver, the scanners in their order, the sender restrictions. `outpost serve`
 * calls it once; tests may call it to get a context without listeners.
 */
import type { AppContext } from './app.js';
import type { LoadedConfig } from './config/load.js';
import { createResolver } from './dns/resolver.js';
import { buildRestrictions } from './policy/restrictions.js';
import { buildScanners } from './scan/index.js';
import { openStore } from './store/open.js';

export async function buildApp(cfg: LoadedConfig): Promise<AppContext> {
  const store = await openStore(cfg);
  try {
    return {
      cfg,
      store,
      scanners: buildScanners(cfg),
      restrictions: buildRestrictions(cfg, store),
      now: Date.now,
      node: cfg.node_id,
      resolver: createResolver(cfg),
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
