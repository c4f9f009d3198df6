/**
 * The one place DNS resolvers are made. Every lookup the gateway does (sender domains,
 * client reverse names, MX routing) goes through a resolver built here, so the servers in
 * `dns.servers` are the only ones asked and `dns.timeout` bounds every query. Without
 * `dns.servers` the system's resolvers (/etc/resolv.conf) are used.
 */
import { promises as dnsPromises } from 'node:dns';
import type { LoadedConfig } from '../config/load.js';

export type Resolver = dnsPromises.Resolver;

/** Error codes meaning "the name or the record type does not exist": an answer, not a fault. */
const ABSENT_CODES = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME']);

export function createResolver(cfg: Pick<LoadedConfig, 'dns'>): Resolver {
  // c-ares retries each query `tries` times, each waiting `timeout`; one try keeps the
  // configured time-out the real upper bound of a lookup.
  const resolver = new dnsPromises.Resolver({ timeout: cfg.dns.timeout, tries: 1 });
  if (cfg.dns.servers && cfg.dns.servers.length > 0) resolver.setServers(cfg.dns.servers);
  return resolver;
}

/** True when a resolver error means the record does not exist (NXDOMAIN or NODATA). */
export function isAbsent(err: unknown): boolean {
  return ABSENT_CODES.has((err as NodeJS.ErrnoException)?.code ?? '');
}

/** True when a resolver error means DNS could not answer now (time-out, SERVFAIL, refused). */
export function isTemporary(err: unknown): boolean {
  return !isAbsent(err);
}

const fallback = new WeakMap<object, Resolver>();

/** The context's resolver, or one made once from its config when the context has none. */
export function resolverOf(ctx: { cfg: Pick<LoadedConfig, 'dns'>; resolver?: Resolver }): Resolver {
  if (ctx.resolver) return ctx.resolver;
  let r = fallback.get(ctx);
  if (!r) {
    r = createResolver(ctx.cfg);
    fallback.set(ctx, r);
  }
  return r;
}
