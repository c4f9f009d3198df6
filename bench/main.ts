/**
 * `npm run bench [-- case...]`: Outpost's loopback benchmark (scripts/bench.sh builds and
 * checks the peers first). Cases: submission, e2e, depth, scan, cluster (default: all). Every
 * run has a fixed message count and a time-out; every process it starts is stopped at the
 * end. Prints a table and appends the rows to bench-results/<date>.jsonl.
 */
import { promises as dns } from 'node:dns';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { e2eCase, e2eUnits, submissionCase, submissionUnits } from './case-basic.js';
import { clusterCase, clusterUnits } from './case-cluster.js';
import { depthCase, depthUnits } from './case-depth.js';
import { scanCase, scanUnits } from './case-scan.js';
import { BenchContext, readSettings } from './context.js';
import { TEST_DNS } from './outpost.js';
import { REPO_ROOT } from './procs.js';
import { Report } from './report.js';

/** Each case, and the work it plans (to share the time budget). */
const CASES: Record<string, [(ctx: BenchContext) => Promise<void>, (ctx: BenchContext) => number]> = {
  submission: [submissionCase, submissionUnits],
  e2e: [e2eCase, e2eUnits],
  depth: [depthCase, depthUnits],
  scan: [scanCase, scanUnits],
  cluster: [clusterCase, clusterUnits],
};

async function checkDns(): Promise<void> {
  const r = new dns.Resolver({ timeout: 2000, tries: 2 });
  r.setServers([TEST_DNS]);
  const mx = await r.resolveMx('example.test').catch((err: Error) => {
    throw new Error(`the test DNS on ${TEST_DNS} does not answer (${err.message}); run scripts/setup.sh`);
  });
  if (mx.length === 0) throw new Error(`the test DNS on ${TEST_DNS} has no MX for example.test`);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  const unknown = args.filter((a) => !(a in CASES));
  if (unknown.length) {
    console.error(`bench: unknown case ${unknown.join(', ')}; cases: ${Object.keys(CASES).join(' ')}`);
    return 2;
  }
  const chosen = args.length ? Object.keys(CASES).filter((c) => args.includes(c)) : Object.keys(CASES);
  const settings = readSettings();
  await checkDns();
  const report = new Report(path.join(REPO_ROOT, 'bench-results'));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-'));
  // Postfix's own users (postfix, postdrop) must reach its queue and lock files under it.
  chmodSync(tmp, 0o755);
  const ctx = new BenchContext(settings, report, tmp);
  console.log(`bench: cases ${chosen.join(' ')}; ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`bench: ${JSON.stringify(settings)}`);
  const started = Date.now();
  let failed = 0;
  try {
    for (const name of chosen) ctx.plan(CASES[name]![1](ctx));
    for (const name of chosen) {
      const after = ctx.planned - CASES[name]![1](ctx);
      try {
        await CASES[name]![0](ctx);
      } catch (err) {
        failed++;
        report.note(`${name} failed: ${(err as Error).message.split('\n')[0]}`);
        console.error(err);
      } finally {
        ctx.settle(after);
      }
    }
  } finally {
    await ctx.stopPostfix();
    if (!process.env.BENCH_KEEP) rmSync(tmp, { recursive: true, force: true });
  }
  if (report.rows.some((r) => r.timedOut)) {
    report.note('runs marked time-out were cut short by their share of the time budget (BENCH_BUDGET_S, ' +
      `${settings.budgetMs / 1000} s) or by BENCH_TIMEOUT_S; their rates cover what they sent`);
  }
  console.log(`\n== results (${Math.round((Date.now() - started) / 1000)} s, load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})\n`);
  console.log(report.table());
  console.log(`\nrows appended to ${path.relative(process.cwd(), report.path)}`);
  return failed ? 1 : 0;
}

const code = await main().catch((err: Error) => {
  console.error(`bench: ${err.message}`);
  return 1;
});
// Anything still running is killed by the exit hook in procs.ts.
process.exit(code);
