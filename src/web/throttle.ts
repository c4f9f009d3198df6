/**
 * Login throttle for the web page, per client address and per mailbox, with counters in the
 * store's key/value table so that all nodes share them. Each failure within auth.failure_window
 * adds auth.failure_delay to the answer of the next failure (slowing guessing); after
 * auth.max_failures the address or mailbox is refused for auth.lockout, even with the right
 * password. A successful login clears the mailbox's counter, not the address's, so one valid
 * account cannot be used to reset an address that guesses at others.
 */
import type { Store } from '../store/store.js';

export interface ThrottleLimits {
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
  delayMs: number;
}

interface Counter {
  n: number;
  first: number;
}

/** The longest a single failed login is held back, so a slow answer cannot tie up the page. */
const MAX_DELAY_MS = 10_000;

export class LoginThrottle {
  constructor(
    private readonly store: Store,
    private readonly limits: ThrottleLimits,
    private readonly now: () => number,
  ) {}

  /** Which of the keys is locked out right now ('address' / 'account'), or null. */
  async locked(ip: string, user: string): Promise<'address' | 'account' | null> {
    if (await this.store.kvGet(lockKey('ip', ip))) return 'address';
    if (user && (await this.store.kvGet(lockKey('user', user)))) return 'account';
    return null;
  }

  /** Counts a failure for both keys; returns how long to hold the answer back. */
  async failed(ip: string, user: string): Promise<{ delayMs: number; lockedNow: boolean }> {
    const counts = [await this.bump('ip', ip)];
    if (user) counts.push(await this.bump('user', user));
    const worst = Math.max(...counts);
    return {
      delayMs: Math.min(MAX_DELAY_MS, this.limits.delayMs * (worst - 1)),
      lockedNow: worst >= this.limits.maxFailures,
    };
  }

  async succeeded(user: string): Promise<void> {
    await this.store.kvDelete(countKey('user', user));
  }

  private async bump(kind: 'ip' | 'user', id: string): Promise<number> {
    const now = this.now();
    const key = countKey(kind, id);
    let c: Counter = { n: 0, first: now };
    const raw = await this.store.kvGet(key);
    if (raw) {
      try {
        const old = JSON.parse(raw) as Counter;
        if (now - old.first < this.limits.windowMs) c = old;
      } catch {
        // a damaged counter starts again
      }
    }
    c.n++;
    await this.store.kvSet(key, JSON.stringify(c), c.first + this.limits.windowMs);
    if (c.n >= this.limits.maxFailures) {
      await this.store.kvSet(lockKey(kind, id), '1', now + this.limits.lockoutMs);
      await this.store.kvDelete(key);
    }
    return c.n;
  }
}

const countKey = (kind: string, id: string) => `web:loginfail:${kind}:${id}`;
const lockKey = (kind: string, id: string) => `web:loginlock:${kind}:${id}`;
