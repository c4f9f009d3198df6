/**
 * The running gateway's shared parts, built once by `outpost serve` and passed down: config,
 * store, resolver, scanners, clock. Modules take what they need from here; none builds its
 * own copy.
 */
import type { LoadedConfig } from './config/load.js';
import type { Scanner } from './scan/scanner.js';
import type { Store } from './store/store.js';

export interface AppContext {
  cfg: LoadedConfig;
  store: Store;
  scanners: Scanner[];
  /** Injectable so tests can run the retry schedule without waiting. */
  now: () => number;
  node: string;
}
