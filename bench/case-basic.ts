/**
 * Cases 1 and 2, each Outpost against Postfix in the same run with the same load generator:
 * - submission: N messages of 1 KB; rate and latency of the final 250 (Outpost's 250 comes
 *   after the SQLite commit with synchronous=FULL, Postfix's after cleanup's fsync). Both
 *   deliver to a sink while they accept, so both pay for delivery as they would in service.
 * - e2e: N messages of 1 KB and of 100 KB, from the first connect until the sink has them all;
 *   Outpost's peak resident memory (VmHWM).
 */
import type { BenchContext } from './context.js';
import { logNote, unitsOf } from './context.js';
import { measure, type LoadParams, type RunFigures } from './measure.js';

export function loadParams(ctx: BenchContext, targets: string[], count: number, size: number): LoadParams {
  const s = ctx.settings;
  return { targets, count, size, connections: s.connections, perConnection: s.perConnection, procs: s.loadgenProcs, timeoutMs: ctx.runLimitMs(unitsOf(count, size)) };
}

/** Runs one load against a fresh Outpost and records it; returns the figures. */
export async function outpostRun(ctx: BenchContext, caseName: string, system: string, count: number, size: number,
  extra: Record<string, unknown> = {}, dataDir?: string): Promise<RunFigures> {
  const run = await ctx.withOutpost(`${caseName}-${system}`, { extra, dataDir }, (o, sink) =>
    measure(loadParams(ctx, [o.submission], count, size), sink, () => o.cpuMs()));
  ctx.report.add({ case: caseName, system, ...run.result, peakMb: run.peakMb, note: logNote(run.events) });
  return run.result;
}

export async function postfixRun(ctx: BenchContext, caseName: string, count: number, size: number): Promise<RunFigures | null> {
  if (ctx.settings.noPostfix) {
    ctx.skip(unitsOf(count, size));
    return null;
  }
  const { pf, sink } = await ctx.postfix();
  const figures = await measure(loadParams(ctx, [pf.submission], count, size), sink, () => pf.cpuMs());
  const drained = await pf.waitEmpty(60_000);
  ctx.report.add({ case: caseName, system: 'postfix', ...figures, note: drained ? undefined : 'Postfix queue not empty after the run' });
  return figures;
}

function ratio(ctx: BenchContext, caseName: string, what: string, a?: number, b?: number, goal?: number): void {
  if (a && b) ctx.report.ratio({ case: caseName, what, value: a / b, goal });
}

/** Planned work of the cases in this file (for the time budget). */
export const submissionUnits = (ctx: BenchContext): number => 2 * ctx.settings.submitN;
export const e2eUnits = (ctx: BenchContext): number => 2 * (ctx.settings.e2eN + unitsOf(ctx.settings.bigN, 102_400));

export async function submissionCase(ctx: BenchContext): Promise<void> {
  const n = ctx.settings.submitN;
  console.log(`\n== submission: ${n} x 1 KB, ${ctx.settings.connections} connections, ${ctx.settings.perConnection} message(s) per connection`);
  const o = await outpostRun(ctx, 'submission', 'outpost', n, 1024);
  const p = await postfixRun(ctx, 'submission', n, 1024);
  ratio(ctx, 'submission', 'Outpost/Postfix submit rate', o.submitRate, p?.submitRate, 2);
  ratio(ctx, 'submission', 'Postfix/Outpost p99 of the final 250', p?.p99, o.p99);
}

export async function e2eCase(ctx: BenchContext): Promise<void> {
  const s = ctx.settings;
  for (const [n, size] of [[s.e2eN, 1024], [s.bigN, 102_400]] as const) {
    const label = `e2e ${size >= 102_400 ? '100K' : '1K'}`;
    console.log(`\n== ${label}: ${n} messages, ${s.connections} connections, to smtp-sink`);
    const o = await outpostRun(ctx, label, 'outpost', n, size);
    const p = await postfixRun(ctx, label, n, size);
    ratio(ctx, label, 'Outpost/Postfix end-to-end rate', o.e2eRate, p?.e2eRate, 2);
  }
}
