/**
 * Case 3, queue depth: the same loads against an empty queue and against one holding many
 * deferred recipients (due days from now), to show that picking due work (an indexed range
 * scan on next_attempt) and submitting do not slow down as the queue grows.
 *
 * The deep queue is written through the store API (SqliteStore) into a data dir before serve
 * starts on it: messages inserted in group commits, then each recipient claimed and recorded
 * as deferred with its next attempt three days ahead, as after a first failed attempt.
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { SqliteStore } from '../src/store/sqlite.js';
import type { NewMessage } from '../src/store/store.js';
import { outpostRun } from './case-basic.js';
import type { BenchContext } from './context.js';
import { makeMessage } from './loadgen.js';

const DAY = 86_400_000;

/** Fills `dataDir` with `count` deferred one-recipient messages of about 1 KB. */
export async function fillDeferred(dataDir: string, count: number): Promise<{ seconds: number; claimMs: number; nextDueMs: number }> {
  const t0 = Date.now();
  const store = new SqliteStore(dataDir);
  try {
    const body = makeMessage({ from: 'bench@example.test', to: 'waiting@mx-down.example.test', size: 1024 }, 0);
    const now = Date.now();
    const batch = 1000;
    for (let i = 0; i < count; i += batch) {
      const msgs: Promise<void>[] = [];
      for (let k = i; k < Math.min(count, i + batch); k++) {
        const m: NewMessage = {
          id: `BENCHDEPTH${String(k).padStart(8, '0')}`,
          sender: 'bench@example.test',
          recipients: [{ address: `waiting${k % 100}@mx-down.example.test` }],
          body,
          created: now - 3_600_000,
          principal: 'ip:127.0.0.1',
          clientIp: '127.0.0.1',
          smtputf8: false,
          eightBit: false,
          kind: 'message',
        };
        msgs.push(store.insertMessage(m));
      }
      await Promise.all(msgs); // one group commit per batch
    }
    // Defer them all: claim (as a queue runner would) and record a temporary failure.
    for (;;) {
      const rows = await store.claimDue(Date.now(), 5000, 'bench-fill', 3_600_000);
      if (rows.length === 0) break;
      const t = Date.now();
      await store.recordOutcomes(rows.map((r) => ({
        id: r.id,
        state: 'deferred' as const,
        nextAttempt: t + 3 * DAY + (r.id % 3600) * 1000,
        lastReply: '451 4.4.1 bench: no answer from the destination',
        incrementAttempts: true,
        nextDelayNotice: null,
      })));
    }
    // What the runner does on every loop, timed on the full queue.
    const c0 = performance.now();
    const none = await store.claimDue(Date.now(), 200, 'bench-probe', 30_000);
    const claimMs = performance.now() - c0;
    const d0 = performance.now();
    await store.nextDue();
    const nextDueMs = performance.now() - d0;
    if (none.length !== 0) throw new Error(`deep queue: ${none.length} recipients due right after filling`);
    return { seconds: Math.round((Date.now() - t0) / 100) / 10, claimMs: Math.round(claimMs * 1000) / 1000, nextDueMs: Math.round(nextDueMs * 1000) / 1000 };
  } finally {
    await store.close();
  }
}

/** Filling the queue costs about as much time as one message per hundred deferred ones. */
const fillUnits = (n: number): number => n / 100;
export const depthUnits = (ctx: BenchContext): number =>
  2 * ctx.settings.submitN + 2 * ctx.settings.depthRunN + fillUnits(ctx.settings.depthFill);

export async function depthCase(ctx: BenchContext): Promise<void> {
  const s = ctx.settings;
  console.log(`\n== depth: ${s.submitN} x 1 KB submission and ${s.depthRunN} x 1 KB end to end, empty queue vs ${s.depthFill} deferred`);
  const template = path.join(ctx.dir('depth-template'), 'data');
  const fill = await fillDeferred(template, s.depthFill);
  ctx.skip(fillUnits(s.depthFill));
  ctx.report.note(`depth: wrote ${s.depthFill} deferred messages through SqliteStore in ${fill.seconds} s; ` +
    `on that queue claimDue (nothing due) took ${fill.claimMs} ms, nextDue ${fill.nextDueMs} ms`);

  const full = (): string => {
    // Each run gets its own copy: a run's deliveries must not change the next run's queue.
    const d = path.join(ctx.dir('depth-full'), 'data');
    cpSync(template, d, { recursive: true });
    return d;
  };
  const emptySub = await outpostRun(ctx, 'depth submit', 'outpost, empty queue', s.submitN, 1024);
  const fullSub = await outpostRun(ctx, 'depth submit', `outpost, ${s.depthFill} deferred`, s.submitN, 1024, {}, full());
  const emptyE2e = await outpostRun(ctx, 'depth e2e', 'outpost, empty queue', s.depthRunN, 1024);
  const fullE2e = await outpostRun(ctx, 'depth e2e', `outpost, ${s.depthFill} deferred`, s.depthRunN, 1024, {}, full());
  const r = (what: string, a?: number, b?: number): void => {
    if (a && b) ctx.report.ratio({ case: 'depth', what, value: a / b });
  };
  r('full/empty submit rate', fullSub.submitRate, emptySub.submitRate);
  r('full/empty p99 of the final 250', fullSub.p99, emptySub.p99);
  r('full/empty end-to-end rate', fullE2e.e2eRate, emptyE2e.e2eRate);
}
