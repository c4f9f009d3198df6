/**
 * Open SMTP sessions, shared by every delivery of the process: a cap on connections in all
 * (delivery.max_connections) and a few idle sessions kept per remote address for a short
 * while, so several messages to one host go over one connection (RSET between them) until
 * delivery.max_messages_per_connection.
 *
 * The per-destination cap is the queue runner's (it knows the destinations); this file only
 * counts sockets.
 */
import type { OpenResult, SmtpSession } from './client.js';
import type { Target } from './route.js';

export interface PoolOptions {
  maxConnections: number;
  maxMessagesPerConnection: number;
  /** How long an idle session is kept for the next message to the same address. */
  idleMs: number;
  /** Idle sessions kept per address. */
  maxIdlePerHost: number;
  open: (target: Target) => Promise<OpenResult>;
}

interface Idle {
  session: SmtpSession;
  timer: NodeJS.Timeout;
}

export class ConnectionPool {
  private openCount = 0;
  private readonly idle = new Map<string, Idle[]>();
  private waiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly opts: PoolOptions) {}

  /** Sessions open now, busy or idle. */
  get size(): number {
    return this.openCount;
  }

  /** A session to `target`: an idle one that answers RSET, else a new connection. */
  async acquire(target: Target): Promise<OpenResult> {
    const key = keyOf(target);
    for (let entry = this.takeIdle(key); entry; entry = this.takeIdle(key)) {
      if (await entry.session.reset()) return { ok: true, session: entry.session };
      this.discard(entry.session);
    }
    await this.slot();
    this.openCount++;
    let r: OpenResult;
    try {
      r = await this.opts.open(target);
    } catch (err) {
      this.openCount--;
      this.wake();
      throw err;
    }
    if (!r.ok) {
      this.openCount--;
      this.wake();
    }
    return r;
  }

  /** Gives a session back after a message: kept idle for reuse, or closed. */
  release(session: SmtpSession): void {
    const key = keyOf(session.target);
    const list = this.idle.get(key) ?? [];
    if (this.closed || !session.usable || session.messages >= this.opts.maxMessagesPerConnection ||
        list.length >= this.opts.maxIdlePerHost) {
      this.discard(session);
      return;
    }
    const timer = setTimeout(() => {
      const l = this.idle.get(key);
      const i = l?.findIndex((e) => e.session === session) ?? -1;
      if (l && i >= 0) {
        l.splice(i, 1);
        if (l.length === 0) this.idle.delete(key);
        this.discard(session);
      }
    }, this.opts.idleMs);
    timer.unref();
    list.push({ session, timer });
    this.idle.set(key, list);
    this.wake();
  }

  /** Closes a session that must not be reused (broken, or its message went wrong). */
  discard(session: SmtpSession): void {
    session.close();
    this.openCount--;
    this.wake();
  }

  /** Closes every idle session; busy ones are closed as they are released. */
  closeAll(): void {
    this.closed = true;
    for (const list of this.idle.values()) {
      for (const e of list) {
        clearTimeout(e.timer);
        e.session.close();
        this.openCount--;
      }
    }
    this.idle.clear();
    for (const w of this.waiters.splice(0)) w();
  }

  private takeIdle(key: string): Idle | undefined {
    const list = this.idle.get(key);
    const entry = list?.pop();
    if (list && list.length === 0) this.idle.delete(key);
    if (entry) clearTimeout(entry.timer);
    return entry;
  }

  /** Waits until one more connection may be opened, closing an idle one when that helps. */
  private async slot(): Promise<void> {
    while (!this.closed && this.openCount >= this.opts.maxConnections) {
      const victim = this.oldestIdleKey();
      if (victim) {
        const e = this.takeIdle(victim)!;
        this.discard(e.session);
        continue;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private oldestIdleKey(): string | undefined {
    for (const [k, l] of this.idle) if (l.length > 0) return k;
    return undefined;
  }

  private wake(): void {
    const w = this.waiters.shift();
    if (w) w();
  }
}

function keyOf(t: Target): string {
  return `${t.ip}|${t.port}|${t.mx.toLowerCase()}`;
}
