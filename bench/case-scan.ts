/**
 * Case 4, scanners: the submission load with the built-in baseline scanner only, then with
 * clamd (INSTREAM, 127.0.0.1:3310), with rspamd (/checkv2, 127.0.0.1:11333), and with both.
 * Each scan happens before the 250, so its time shows in the final reply's latency.
 * The daemons are the shared ones scripts/setup.sh starts; a variant whose daemon does not
 * answer is skipped with a note.
 */
import net from 'node:net';
import { outpostRun } from './case-basic.js';
import type { BenchContext } from './context.js';

const CLAMD = process.env.BENCH_CLAMD ?? '127.0.0.1:3310';
const RSPAMD = process.env.BENCH_RSPAMD ?? 'http://127.0.0.1:11333';

function clamdAnswers(): Promise<boolean> {
  const i = CLAMD.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = net.connect({ host: CLAMD.slice(0, i), port: Number(CLAMD.slice(i + 1)) });
    let got = '';
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(3000, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('zPING\0'));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\0')) done(got.startsWith('PONG'));
    });
  });
}

async function rspamdAnswers(): Promise<boolean> {
  try {
    const r = await fetch(new URL('/ping', RSPAMD), { signal: AbortSignal.timeout(3000) });
    return (await r.text()).includes('pong');
  } catch {
    return false;
  }
}

export const scanUnits = (ctx: BenchContext): number => 4 * ctx.settings.scanN;

export async function scanCase(ctx: BenchContext): Promise<void> {
  const n = ctx.settings.scanN;
  console.log(`\n== scan: ${n} x 1 KB submission per scanner set`);
  const clamd = await clamdAnswers();
  const rspamd = await rspamdAnswers();
  const clamdCfg = { address: CLAMD };
  const rspamdCfg = { url: RSPAMD };
  const variants: Array<[string, Record<string, unknown> | null]> = [
    ['baseline', {}],
    ['baseline+clamd', clamd ? { clamd: clamdCfg } : null],
    ['baseline+rspamd', rspamd ? { rspamd: rspamdCfg } : null],
    ['baseline+clamd+rspamd', clamd && rspamd ? { clamd: clamdCfg, rspamd: rspamdCfg } : null],
  ];
  let base: number | undefined;
  for (const [name, scan] of variants) {
    if (!scan) {
      ctx.report.note(`scan: ${name} skipped: ${!clamd ? `clamd on ${CLAMD}` : `rspamd on ${RSPAMD}`} does not answer`);
      ctx.skip(n);
      continue;
    }
    const f = await outpostRun(ctx, 'scan', name, n, 1024, { scan });
    if (name === 'baseline') base = f.submitRate;
    else if (base && f.submitRate) ctx.report.ratio({ case: 'scan', what: `${name}/baseline submit rate`, value: f.submitRate / base });
  }
}
