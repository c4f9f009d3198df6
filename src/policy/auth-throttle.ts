/**
 * Slows and then stops password guessing from one client address. Each failed login is an
 * event in the store (so all nodes sharing a store see the same count); after the first
 * failure within auth.failure_window each further failure is answered only after
 * auth.failure_delay, and at auth.max_failures the address is locked out for auth.lockout
 * (454 4.7.0 to every AUTH, right or wrong). A successful login does not clear the count:
 * the lockout is about guessing, and a guesser that knows one password is still guessing.
 */
import type { LoadedConfig } from '../config/load.js';
import type { Store } from '../store/store.js';

const EVENT = 'auth_fail';
const lockKey = (ip: string) => `auth-lockout:${ip}`;

export interface FailureOutcome {
  /** Wait this long before answering the failed attempt. */
  delayMs: number;
  /** This failure started a lockout. */
  lockedOut: boolean;
  failures: number;
}

export class AuthThrottle {
  constructor(
    private readonly store: Store,
    private readonly cfg: LoadedConfig['auth'],
    private readonly now: () => number,
  ) {}

  async isLockedOut(ip: string): Promise<boolean> {
    return (await this.store.kvGet(lockKey(ip))) !== null;
  }

  async recordFailure(ip: string): Promise<FailureOutcome> {
    const now = this.now();
    await this.store.addEvent(`ip:${ip}`, EVENT, now);
    const failures = await this.store.countEvents(`ip:${ip}`, EVENT, now - this.cfg.failure_window);
    if (failures >= this.cfg.max_failures) {
      await this.store.kvSet(lockKey(ip), String(now), now + this.cfg.lockout);
      return { delayMs: this.cfg.failure_delay, lockedOut: true, failures };
    }
    return { delayMs: failures > 1 ? this.cfg.failure_delay : 0, lockedOut: false, failures };
  }
}
