/**
 * Where mail for a domain goes: the ordered list of addresses to try, or the reason there is
 * none. Lookups go through the shared resolver (dns.servers), never the system's.
 *
 * - `delivery.routes` overrides DNS for a domain, like a transport map ("host:port").
 * - MX hosts are tried in preference order; equal preferences in random order (RFC 5321 5.1),
 *   each host's IPv4 addresses first, then IPv6.
 * - No MX records (NODATA): the domain's own A/AAAA is the implicit MX (RFC 5321 5.1).
 * - Null MX "0 ." (RFC 7505): the domain takes no mail, a permanent failure (5.1.10).
 * - The domain does not exist (NXDOMAIN): permanent (5.1.2).
 * - A time-out or SERVFAIL: deferred, DNS may answer later (4.4.3).
 * - Internationalised names are looked up as A-labels (url.domainToASCII).
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import type { LoadedConfig } from '../config/load.js';
import { parseHostPort } from '../config/schema.js';
import { isAbsent, type Resolver } from '../dns/resolver.js';
import { localReply, type RemoteReply } from './outcome.js';

export interface Target {
  /** The MX host name (or the route's host, or the domain for an implicit MX). */
  mx: string;
  ip: string;
  port: number;
}

export type Route =
  | { kind: 'targets'; targets: Target[] }
  | { kind: 'failed' | 'deferred'; reply: RemoteReply };

/** At most this many addresses are tried in one attempt, so a long MX list cannot stall it. */
const MAX_TARGETS = 10;

export interface RouteDeps {
  cfg: Pick<LoadedConfig, 'delivery'>;
  resolver: Resolver;
}

export async function routeDomain(domain: string, deps: RouteDeps): Promise<Route> {
  const port = deps.cfg.delivery.port;

  // A domain literal (RFC 5321 4.1.3): user@[192.0.2.1] or user@[IPv6:2001:db8::1].
  const literal = /^\[(?:IPv6:)?([^\]]+)\]$/i.exec(domain);
  if (literal) {
    if (isIP(literal[1]!)) return { kind: 'targets', targets: [{ mx: domain, ip: literal[1]!, port }] };
    return failed('5.1.2', `Bad destination address literal ${domain}`);
  }

  const ascii = domainToASCII(domain.toLowerCase());
  if (!ascii) return failed('5.1.2', `Bad destination domain ${domain}`);

  const override = findRoute(deps.cfg.delivery.routes, domain, ascii);
  if (override) return routeOverride(override, deps.resolver);

  let mxs: Array<{ exchange: string; priority: number }>;
  try {
    mxs = await deps.resolver.resolveMx(ascii);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENODATA') return implicitMx(ascii, port, deps.resolver);
    if (isAbsent(err)) return failed('5.1.2', `Domain ${ascii} does not exist (DNS: ${code})`);
    return dnsTrouble(ascii, 'MX', err);
  }
  if (mxs.length === 0) return implicitMx(ascii, port, deps.resolver);

  // RFC 7505: a single "0 ." record says the domain accepts no mail at all.
  const real = mxs.filter((m) => m.exchange !== '' && m.exchange !== '.');
  if (real.length === 0) return failed('5.1.10', `Domain ${ascii} accepts no mail (null MX, RFC 7505)`);

  const ordered = orderByPreference(real);
  const resolved = await Promise.all(ordered.map((m) => addressesOf(m.exchange, deps.resolver)));
  const targets: Target[] = [];
  let temporary: unknown = null;
  resolved.forEach((r, i) => {
    if (r.temporary) temporary ??= r.temporary;
    for (const ip of r.addresses) targets.push({ mx: ordered[i]!.exchange.replace(/\.$/, ''), ip, port });
  });
  if (targets.length > 0) return { kind: 'targets', targets: targets.slice(0, MAX_TARGETS) };
  if (temporary) return dnsTrouble(ascii, 'address of its MX hosts', temporary);
  return failed('5.4.4', `No MX host of ${ascii} has an address (${real.map((m) => m.exchange).join(', ')})`);
}

async function implicitMx(ascii: string, port: number, resolver: Resolver): Promise<Route> {
  const r = await addressesOf(ascii, resolver);
  if (r.addresses.length > 0) {
    return { kind: 'targets', targets: r.addresses.slice(0, MAX_TARGETS).map((ip) => ({ mx: ascii, ip, port })) };
  }
  if (r.temporary) return dnsTrouble(ascii, 'A/AAAA', r.temporary);
  return failed('5.4.4', `Domain ${ascii} has no MX and no address records`);
}

async function routeOverride(spec: string, resolver: Resolver): Promise<Route> {
  const hp = parseHostPort(spec);
  if (!hp) return deferred('4.3.5', `Bad delivery.routes entry "${spec}"`);
  if (isIP(hp.host)) return { kind: 'targets', targets: [{ mx: hp.host, ip: hp.host, port: hp.port }] };
  const r = await addressesOf(hp.host, resolver);
  if (r.addresses.length > 0) {
    return { kind: 'targets', targets: r.addresses.map((ip) => ({ mx: hp.host, ip, port: hp.port })) };
  }
  // An operator's route that does not resolve is a configuration problem: keep the mail.
  return deferred('4.4.3', `Route host ${hp.host} has no address${r.temporary ? ' (DNS time-out)' : ''}`);
}

function findRoute(routes: Record<string, string>, domain: string, ascii: string): string | undefined {
  for (const [k, v] of Object.entries(routes)) {
    const key = k.toLowerCase();
    if (key === domain.toLowerCase() || key === ascii || domainToASCII(key) === ascii) return v;
  }
  return undefined;
}

/** IPv4 then IPv6 addresses of a host; `temporary` set when a lookup could not be answered. */
async function addressesOf(host: string, resolver: Resolver): Promise<{ addresses: string[]; temporary: unknown }> {
  const name = host.replace(/\.$/, '');
  if (isIP(name)) return { addresses: [name], temporary: null };
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const addresses: string[] = [];
  let temporary: unknown = null;
  for (const r of [v4, v6]) {
    if (r.status === 'fulfilled') addresses.push(...r.value);
    else if (!isAbsent(r.reason)) temporary ??= r.reason;
  }
  return { addresses, temporary };
}

/** Sorted by preference; hosts of equal preference shuffled so load spreads over them. */
export function orderByPreference<T extends { priority: number }>(mxs: T[]): T[] {
  const shuffled = [...mxs];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  // Array.prototype.sort is stable, so the shuffle survives among equal priorities.
  return shuffled.sort((a, b) => a.priority - b.priority);
}

function dnsTrouble(name: string, what: string, err: unknown): Route {
  const code = (err as NodeJS.ErrnoException)?.code ?? 'error';
  return deferred('4.4.3', `DNS lookup of ${what} for ${name} failed (${code}); will retry`);
}

function failed(enhanced: string, text: string): Route {
  return { kind: 'failed', reply: localReply(550, enhanced, text) };
}

function deferred(enhanced: string, text: string): Route {
  return { kind: 'deferred', reply: localReply(451, enhanced, text) };
}
