/**
 * One delivery attempt of one message to the recipients of one destination domain: route,
 * then the addresses in order until one takes the transaction. A host that cannot be reached,
 * greets with an error or fails during set-up is skipped for the next one (RFC 5321 5.1);
 * once a transaction has started, its replies are the outcome.
 *
 * Checks made against what the chosen server announced, before anything is sent:
 * - SIZE: a message larger than the server's limit fails at once (5.3.4) without sending;
 * - SMTPUTF8: a message that needs it, to a server without it, fails (5.6.7, RFC 6531 3.4).
 *
 * Returns an outcome per recipient; never throws for a remote problem.
 */
import { type RecipientOutcome, type RemoteReply, localReply } from './outcome.js';
import { needsUtf8, type OutgoingMessage } from './client.js';
import type { ConnectionPool } from './pool.js';
import { routeDomain, type RouteDeps, type Target } from './route.js';

export interface DeliveryResult {
  outcomes: RecipientOutcome[];
  /** Addresses that were tried and skipped before the one that answered, with why. */
  skipped: Array<{ target: Target; reply: RemoteReply }>;
}

export interface DeliverDeps extends RouteDeps {
  pool: ConnectionPool;
}

export async function deliverToDomain(domain: string, message: OutgoingMessage, deps: DeliverDeps): Promise<DeliveryResult> {
  const route = await routeDomain(domain, deps);
  if (route.kind !== 'targets') {
    return { outcomes: everyone(message, route.kind, route.reply, null), skipped: [] };
  }

  const skipped: DeliveryResult['skipped'] = [];
  for (const target of route.targets) {
    const opened = await deps.pool.acquire(target);
    if (!opened.ok) {
      skipped.push({ target, reply: opened.reply });
      continue;
    }
    const session = opened.session;
    const caps = session.capabilities();
    const at = { mx: target.mx, ip: target.ip, tls: session.tls };

    if (caps.size > 0 && message.body.length > caps.size) {
      deps.pool.release(session);
      const reply = localReply(552, '5.3.4',
        `Message size ${message.body.length} exceeds the limit of ${caps.size} bytes announced by ${target.mx}[${target.ip}]`);
      return { outcomes: everyone(message, 'failed', reply, at), skipped };
    }
    const utf8 = message.smtputf8 || needsUtf8(message.sender) || message.recipients.some((r) => needsUtf8(r.address));
    if (utf8 && !caps.smtputf8) {
      deps.pool.release(session);
      const reply = localReply(553, '5.6.7',
        `The message needs SMTPUTF8 (internationalised addresses or headers) and ${target.mx}[${target.ip}] does not support it`);
      return { outcomes: everyone(message, 'failed', reply, at), skipped };
    }

    const outcomes = await session.send(message);
    deps.pool.release(session);
    return { outcomes, skipped };
  }

  // Nobody could be reached: the last reason stands for all (each is in `skipped`).
  const last = skipped[skipped.length - 1];
  const reply = last?.reply ?? localReply(451, '4.4.0', `No address to deliver to for ${domain}`);
  const at = last ? { mx: last.target.mx, ip: last.target.ip, tls: false } : null;
  return { outcomes: everyone(message, 'deferred', reply, at), skipped };
}

function everyone(
  message: OutgoingMessage,
  kind: RecipientOutcome['kind'],
  reply: RemoteReply,
  at: { mx: string; ip: string; tls: boolean } | null,
): RecipientOutcome[] {
  return message.recipients.map((r) => ({
    address: r.address,
    kind,
    reply,
    mx: at?.mx ?? null,
    ip: at?.ip ?? null,
    tls: at?.tls ?? false,
  }));
}
