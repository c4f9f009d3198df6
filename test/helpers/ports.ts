/**
 * Free TCP ports for tests. The OS picks a port that is free at this moment; a parallel test
 * can still take it before the caller binds, so helpers that start servers retry on EADDRINUSE.
 */
import net from 'node:net';

/** A TCP port that nothing listens on at `host` right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** True when a listener can be opened on host:port now. */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * One port free on every one of `hosts` (e.g. the addresses of two MX hosts that the gateway
 * reaches on the same `delivery.port`).
 */
export async function freeCommonPort(hosts: string[]): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await freePort(hosts[0]);
    const rest = await Promise.all(hosts.slice(1).map((h) => portIsFree(h, port)));
    if (rest.every(Boolean)) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}
