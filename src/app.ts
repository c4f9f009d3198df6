/**
 * The running gateway's shared parts, built once by `outpost serve` and passed down: config,
 * store, resolver, scanners, clock. Modules take what they need from here; none builds its
 * own copy.
 */
import type { EventEmitter } from 'node:events';
import type { LoadedConfig } from './config/load.js';
import type { Resolver } from './dns/resolver.js';
import type { Restrictions } from './intake/restrictions.js';
import type { Scanner } from './scan/scanner.js';
import type { Store } from './store/store.js';

export interface AppContext {
  cfg: LoadedConfig;
  store: Store;
  scanners: Scanner[];
  /** Injectable so tests can run the retry schedule without waiting. */
  now: () => number;
  node: string;
  /** Sender limits and blocks, called by the intake pipeline; absent: no restrictions. */
  restrictions?: Restrictions;
  /** The shared DNS resolver (dns.servers); absent in hand-made contexts: see resolverOf(). */
  resolver?: Resolver;
  /**
   * Queue notifications: intake emits 'queued' (with the queue id) once a message is stored,
   * which wakes the queue runner at once instead of at its next poll.
   */
  queueEvents?: EventEmitter;
}
