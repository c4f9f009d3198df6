/**
 * Sender checks at MAIL FROM: no bounces (null reverse-path) are relayed, and the sender's
 * domain must be able to receive the replies and bounces its mail causes: it needs an MX
 * record, or failing that an A or AAAA record (RFC 5321 section 5.1, implicit MX), and must
 * not publish a null MX (RFC 7505, "this domain accepts no mail"). A DNS failure or time-out
 * is answered 451 4.4.3 so the client retries later; it never turns into a permanent refusal.
 *
 * Answers are cached in memory for a short time (found: 5 minutes, not found: 1 minute),
 * bounded in size; DNS failures are not cached.
 */
import { domainToASCII } from 'node:url';
import { isAbsent, type Resolver } from '../dns/resolver.js';
import { replies, type Reply } from '../reply/reply.js';

const FOUND_TTL = 5 * 60_000;
const ABSENT_TTL = 60_000;
const MAX_ENTRIES = 10_000;

type Verdict = { kind: 'ok' } | { kind: 'invalid'; why: string } | { kind: 'temporary' };

export class SenderDomainCheck {
  private readonly cache = new Map<string, { verdict: Verdict; expires: number }>();

  constructor(
    private readonly resolver: Resolver,
    private readonly now: () => number = Date.now,
  ) {}

  /** Null when the domain of `sender` may send, else the refusal. */
  async check(sender: string): Promise<Reply | null> {
    const domain = sender.slice(sender.lastIndexOf('@') + 1).toLowerCase();
    if (domain.startsWith('[')) {
      return replies.senderDomainInvalid(domain, 'is an address literal, not a domain that can receive replies');
    }
    const verdict = await this.verdict(domain);
    switch (verdict.kind) {
      case 'ok':
        return null;
      case 'invalid':
        return replies.senderDomainInvalid(domain, verdict.why);
      case 'temporary':
        return replies.senderDnsTimeout(domain);
    }
  }

  private async verdict(domain: string): Promise<Verdict> {
    const now = this.now();
    const hit = this.cache.get(domain);
    if (hit && hit.expires > now) return hit.verdict;
    if (hit) this.cache.delete(domain);

    const verdict = await this.lookup(domain);
    if (verdict.kind !== 'temporary') {
      if (this.cache.size >= MAX_ENTRIES) {
        // Map keeps insertion order: the first key is the oldest entry.
        this.cache.delete(this.cache.keys().next().value as string);
      }
      this.cache.set(domain, { verdict, expires: now + (verdict.kind === 'ok' ? FOUND_TTL : ABSENT_TTL) });
    }
    return verdict;
  }

  private async lookup(domain: string): Promise<Verdict> {
    const ascii = domainToASCII(domain);
    if (!ascii) return { kind: 'invalid', why: 'is not a valid domain name' };
    try {
      const mx = await this.resolver.resolveMx(ascii);
      // Node reports "MX 0 ." as an exchange of ''.
      if (mx.some((r) => r.exchange === '' || r.exchange === '.')) {
        return { kind: 'invalid', why: 'publishes a null MX (RFC 7505): it accepts no mail' };
      }
      if (mx.length > 0) return { kind: 'ok' };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTFOUND') {
        return { kind: 'invalid', why: 'does not exist' };
      }
      if (!isAbsent(err)) return { kind: 'temporary' };
    }
    // No MX: the domain itself is the implicit MX if it has an address (RFC 5321 5.1).
    const found = await Promise.allSettled([this.resolver.resolve4(ascii), this.resolver.resolve6(ascii)]);
    if (found.some((r) => r.status === 'fulfilled' && r.value.length > 0)) return { kind: 'ok' };
    if (found.some((r) => r.status === 'rejected' && !isAbsent(r.reason))) return { kind: 'temporary' };
    return { kind: 'invalid', why: 'has no MX and no address record' };
  }
}
