/**
 * The test DNS (unbound started by scripts/peers/start-dns.sh, zones in test/dns/). Test
 * domains are resolved only here, never through the system resolver.
 */
import { promises as dnsPromises } from 'node:dns';

/** OUTPOST_TEST_DNS moves it (setup.sh starts it there too), e.g. when another test DNS holds the address. */
export const TEST_DNS = process.env.OUTPOST_TEST_DNS ?? '127.0.0.53:5300';

/** A resolver that asks only the test DNS. */
export function testResolver(): dnsPromises.Resolver {
  const r = new dnsPromises.Resolver({ timeout: 2000, tries: 2 });
  r.setServers([TEST_DNS]);
  return r;
}
