/**
 * Builds the running gateway's shared parts (AppContext) from a loaded config: the store,
 * the DNS resolver, the scanners in their order, the sender restrictions. `outpost serve`
 * calls it once; tests may call it to get a context without listeners.
 */
import type { AppContext } from './app.js';
import type { LoadedConfig } from './config/load.js';
import { createResolver } from './dns/resolver.js';
import type { Scanner } from './scan/scanner.js';
import { openStore } from './store/open.js';

/** The scanners the config enables, in scanning order (none until the scan module exists). */
async function loadScanners(cfg: LoadedConfig): Promise<Scanner[]> {
  // XXX: the scan module is built separately; until src/scan/index.ts exists the list is
  // empty. Replace with a static import of buildScanners once it does.
  const spec = './scan/index.js';
  const mod = (await import(spec).catch(() => null)) as { buildScanners?: (c: LoadedConfig) => Scanner[] | Promise<Scanner[]> } | null;
  return mod?.buildScanners ? await mod.buildScanners(cfg) : [];
}

export async function buildApp(cfg: LoadedConfig): Promise<AppContext> {
  const store = await openStore(cfg);
  try {
    return {
      cfg,
      store,
      scanners: await loadScanners(cfg),
      now: Date.now,
      node: cfg.node_id,
      resolver: createResolver(cfg),
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
