/**
 * Address ranges ("10.0.0.0/8", "::1/128", "192.0.2.7") and the test whether a client
 * address lies inside one. IPv4 clients seen through an IPv6 socket (::ffff:a.b.c.d) are
 * matched as IPv4.
 */
import { BlockList, isIP } from 'node:net';

export class NetworkList {
  private readonly list = new BlockList();

  constructor(readonly entries: readonly string[]) {
    for (const entry of entries) {
      const [addr, bits] = entry.split('/') as [string, string | undefined];
      const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.list.addAddress(addr, family);
      else this.list.addSubnet(addr, Number(bits), family);
    }
  }

  has(ip: string): boolean {
    const addr = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    const kind = isIP(addr);
    if (kind === 0) return false;
    return this.list.check(addr, kind === 6 ? 'ipv6' : 'ipv4');
  }
}
