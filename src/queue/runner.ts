/**
 * The queue runner, started by `outpost serve`: takes due recipients from the store
 * (claimDue: an indexed range scan that leases them to this node), groups them by message and
 * destination domain, and runs one attempt per group within the limits:
 * delivery.max_connections attempts in all, delivery.max_per_destination per domain.
 *
 * It wakes when intake queues a message (poke(), or ctx.queueEvents 'queued'), when an attempt
 * finishes, and otherwise sleeps until the store's next due time, at most queue.poll_interval.
 * So a retry never runs before its slot, and runs within a poll interval of it when idle.
 *
 * Leases: claiming sets nextAttempt to now + queue.lease; while an attempt runs, its leases
 * are renewed, so a slow delivery is not taken over by another node. A node that dies simply
 * stops renewing: its recipients fall due again when the lease runs out.
 */
import { EventEmitter } from 'node:events';
import type { AppContext } from '../app.js';
import { openSession } from '../delivery/client.js';
import { deliverToDomain } from '../delivery/deliver.js';
import { ConnectionPool } from '../delivery/pool.js';
import { resolverOf } from '../dns/resolver.js';
import { maillog } from '../maillog/log.js';
import { reportOutgoingConnections, timedAttempts } from '../metrics/events.js';
import type { RecipientRow } from '../store/store.js';
import { runAttempt, type DeliverFn, type Job } from './attempt.js';
import { RetrySchedule } from './schedule.js';

/** Idle sessions are kept this long for the next message to the same address. */
const IDLE_MS = 5000;
/** Recipients held in memory (running or waiting for a slot) per allowed connection. */
const BACKLOG_PER_CONNECTION = 10;
/** Floor for a wait while work is due but cannot be taken, so the loop never spins. */
const MIN_WAIT_MS = 20;

export interface RunnerOptions {
  /** Replaces real delivery (tests of the queue logic alone). */
  deliver?: DeliverFn;
}

export class QueueRunner {
  private readonly schedule: RetrySchedule;
  private readonly pool: ConnectionPool;
  private readonly deliver: DeliverFn;
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private poked = false;
  private renewTimer: NodeJS.Timeout | null = null;
  /** Recipient ids claimed and not yet finished. */
  private readonly held = new Set<number>();
  /** Jobs waiting for a slot, per destination domain. */
  private readonly waiting = new Map<string, Job[]>();
  private readonly activeByDomain = new Map<string, number>();
  private readonly active = new Set<Promise<void>>();
  private readonly onQueued = () => this.poke();
  private stopReporting: (() => void) | null = null;

  constructor(private readonly ctx: AppContext, opts: RunnerOptions = {}) {
    const d = ctx.cfg.delivery;
    this.schedule = new RetrySchedule(ctx.cfg.retry.schedule);
    this.pool = new ConnectionPool({
      maxConnections: d.max_connections,
      maxMessagesPerConnection: d.max_messages_per_connection,
      idleMs: IDLE_MS,
      maxIdlePerHost: Math.max(1, Math.min(d.max_per_destination, 4)),
      open: (target) => openSession(target, {
        hostname: ctx.cfg.hostname,
        tls: d.tls,
        connectTimeout: d.connect_timeout,
        greetingTimeout: d.greeting_timeout,
        commandTimeout: d.command_timeout,
        dataTimeout: d.data_timeout,
      }),
    });
    const deps = { cfg: ctx.cfg, resolver: resolverOf(ctx), pool: this.pool };
    this.deliver = timedAttempts(opts.deliver ?? ((domain, message) => deliverToDomain(domain, message, deps)));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopReporting = reportOutgoingConnections(() => this.pool.size);
    this.ctx.queueEvents?.on('queued', this.onQueued);
    const every = Math.max(200, Math.floor(this.ctx.cfg.queue.lease / 3));
    this.renewTimer = setInterval(() => void this.renewLeases(), every);
    this.renewTimer.unref();
    this.loop = this.run();
  }

  /** Wakes the runner now: new mail was queued, or an operator made something due. */
  poke(): void {
    this.poked = true;
    this.wakeUp?.();
  }

  /**
   * Stops taking work and waits up to `graceMs` for attempts in flight. Whatever is still
   * running then is left to its lease: another node, or this one after a restart, takes it.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.ctx.queueEvents?.off('queued', this.onQueued);
    this.wakeUp?.();
    await this.loop;
    const all = Promise.allSettled([...this.active]);
    const timer = new Promise<void>((r) => setTimeout(r, graceMs).unref());
    await Promise.race([all, timer]);
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.waiting.clear();
    this.pool.closeAll();
    this.stopReporting?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let claimed = 0;
      let room = this.room();
      try {
        if (room > 0) {
          const rows = await this.ctx.store.claimDue(this.ctx.now(), room, this.ctx.node, this.ctx.cfg.queue.lease);
          claimed = rows.length;
          this.enqueue(rows);
          room = this.room();
        }
        this.dispatch();
        if (claimed > 0 && room > 0) continue; // more may be due right now
        await this.sleep(room > 0);
      } catch (err) {
        maillog.error({ error: (err as Error).message }, 'queue runner: store error; retrying');
        await this.sleep(false);
      }
    }
  }

  private room(): number {
    return this.ctx.cfg.delivery.max_connections * BACKLOG_PER_CONNECTION - this.held.size;
  }

  /** Groups claimed recipients into jobs: one per message and destination domain. */
  private enqueue(rows: RecipientRow[]): void {
    const jobs = new Map<string, Job>();
    for (const r of rows) {
      // A row this node already holds (its lease ran out while it waited) is not taken twice.
      if (this.held.has(r.id)) continue;
      this.held.add(r.id);
      const key = `${r.messageId}\0${r.domain}`;
      let job = jobs.get(key);
      if (!job) {
        job = { messageId: r.messageId, domain: r.domain, recipientIds: [] };
        jobs.set(key, job);
      }
      job.recipientIds.push(r.id);
    }
    for (const job of jobs.values()) {
      const q = this.waiting.get(job.domain) ?? [];
      q.push(job);
      this.waiting.set(job.domain, q);
    }
  }

  /** Starts waiting jobs while the limits allow, destinations taking turns. */
  private dispatch(): void {
    const d = this.ctx.cfg.delivery;
    for (const [domain, q] of this.waiting) {
      while (q.length > 0 && this.active.size < d.max_connections && (this.activeByDomain.get(domain) ?? 0) < d.max_per_destination) {
        this.start1(q.shift()!);
      }
      if (q.length === 0) this.waiting.delete(domain);
      if (this.active.size >= d.max_connections) break;
    }
  }

  private start1(job: Job): void {
    this.activeByDomain.set(job.domain, (this.activeByDomain.get(job.domain) ?? 0) + 1);
    const p = runAttempt(job, {
      ctx: this.ctx,
      schedule: this.schedule,
      deliver: this.deliver,
      onNoticeQueued: () => this.poke(),
    })
      .catch((err) => {
        // The recipients keep their lease and fall due again when it runs out.
        maillog.error({ qid: job.messageId, domain: job.domain, error: (err as Error).message }, 'delivery attempt failed');
      })
      .finally(() => {
        this.active.delete(p);
        for (const id of job.recipientIds) this.held.delete(id);
        const n = (this.activeByDomain.get(job.domain) ?? 1) - 1;
        if (n > 0) this.activeByDomain.set(job.domain, n);
        else this.activeByDomain.delete(job.domain);
        if (this.running) this.dispatch();
        this.wakeUp?.();
      });
    this.active.add(p);
  }

  /** Sleeps until the next due time (at most poll_interval), a poke or a finished attempt. */
  private async sleep(canTake: boolean): Promise<void> {
    if (!this.running) return;
    if (this.poked) {
      this.poked = false;
      return;
    }
    const poll = this.ctx.cfg.queue.poll_interval;
    let ms = poll;
    if (canTake) {
      const next = await this.ctx.store.nextDue().catch(() => null);
      if (next !== null) ms = Math.min(poll, Math.max(MIN_WAIT_MS, next - this.ctx.now()));
    }
    if (!this.running || this.poked) {
      this.poked = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
    this.wakeUp = null;
    this.poked = false;
  }

  private async renewLeases(): Promise<void> {
    if (!this.ctx.store.renewLeases || this.held.size === 0) return;
    try {
      await this.ctx.store.renewLeases([...this.held], this.ctx.node, this.ctx.now() + this.ctx.cfg.queue.lease);
    } catch (err) {
      maillog.warn({ error: (err as Error).message }, 'could not renew delivery leases');
    }
  }
}

/** Starts the runner for `outpost serve`; intake wakes it through ctx.queueEvents. */
export function startQueueRunner(ctx: AppContext): { stop(): Promise<void> } {
  ctx.queueEvents ??= new EventEmitter();
  const runner = new QueueRunner(ctx);
  runner.start();
  return { stop: () => runner.stop(ctx.cfg.smtp.shutdown_grace) };
}
