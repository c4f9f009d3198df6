/**
 * Relay rights (who may hand mail to the gateway for any destination): a client inside
 * relay.trusted_networks, or one that logged in. Everyone else is refused at MAIL FROM with
 * 530 5.7.0 until it authenticates, so the gateway is never an open relay.
 */
import type { LoadedConfig } from '../config/load.js';
import { replies, type Reply } from '../reply/reply.js';
import { NetworkList } from './networks.js';

const lists = new WeakMap<object, NetworkList>();

/** True when the client address is one of the provider's own networks. */
export function isTrusted(cfg: Pick<LoadedConfig, 'relay'>, clientIp: string): boolean {
  let list = lists.get(cfg.relay);
  if (!list) {
    list = new NetworkList(cfg.relay.trusted_networks);
    lists.set(cfg.relay, list);
  }
  return list.has(clientIp);
}

/** Null when the principal may relay, else the refusal. */
export function checkRelay(who: { trusted: boolean; authUser: string | null }): Reply | null {
  if (who.trusted || who.authUser) return null;
  return replies.authRequired;
}
