/**
 * `outpost block ...`: the senders the gateway refuses (every MAIL FROM gets 550 5.7.1) after
 * messages to invalid addresses or spam, and operators' own blocks. A principal is written as
 * "user:ADDR", "ip:ADDR", or a bare mailbox or IP address. A running gateway sees a change at
 * the next MAIL FROM (blocks are read from the store each time).
 *
 * Adding or lifting a block writes a log line (event block / unblock) on standard error, so
 * the action leaves a trace apart from the command's own output.
 */
import type { Command } from 'commander';
import { initLog } from '../maillog/log.js';
import { blockPrincipal, currentCounts, unblockPrincipal } from '../policy/blocks.js';
import { parsePrincipal } from '../policy/principal.js';
import type { Block } from '../store/store.js';
import { CliError, withStore, type GlobalOptions } from './common.js';

function principal(raw: string): string {
  const p = parsePrincipal(raw);
  if (!p.ok) throw new CliError(`${p.error}; write a principal as user:ADDRESS, ip:ADDRESS, a mailbox or an IP address`);
  return p.principal;
}

function blockView(b: Block) {
  return { principal: b.principal, reason: b.reason, since: new Date(b.since).toISOString(), counts: b.counts };
}

export function registerBlock(program: Command): void {
  const global = () => program.opts<GlobalOptions>();
  const cmd = program.command('block').description('list, add and lift blocks of senders (mailboxes or client addresses)');

  cmd.command('list')
    .description('blocked principals: who, why, since when, and the counts that led to it')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const blocks = await withStore(global(), (store) => store.listBlocks());
      const views = blocks.map(blockView);
      if (opts.json) {
        console.log(JSON.stringify(views, null, 2));
        return;
      }
      if (views.length === 0) {
        console.log('no blocks');
        return;
      }
      const width = Math.max(9, ...views.map((v) => v.principal.length));
      console.log(`${'PRINCIPAL'.padEnd(width)}  ${'SINCE'.padEnd(24)}  REASON  (COUNTS)`);
      for (const v of views) {
        const counts = Object.entries(v.counts).map(([k, n]) => `${k}=${n}`).join(' ');
        console.log(`${v.principal.padEnd(width)}  ${v.since.padEnd(24)}  ${v.reason}${counts ? `  (${counts})` : ''}`);
      }
    });

  cmd.command('add <principal>')
    .description('block a principal until `outpost block remove` lifts it')
    .requiredOption('--reason <text>', 'why, for the list (e.g. "abuse report 2026-12-03")')
    .action(async (raw: string, opts: { reason: string }) => {
      const p = principal(raw);
      const reason = opts.reason.trim();
      if (reason === '') throw new CliError('give a reason with --reason TEXT');
      await withStore(global(), async (store, cfg) => {
        initLog(cfg.log.level, cfg.node_id, process.stderr);
        const now = Date.now();
        const existing = await store.getBlock(p);
        if (existing) {
          throw new CliError(`${p} is blocked already since ${new Date(existing.since).toISOString()} (${existing.reason})`, 1);
        }
        const counts = await currentCounts(store, p, now, cfg.limits);
        await blockPrincipal(store, p, reason, counts, now, 'operator');
      });
      console.log(`blocked ${p}`);
    });

  cmd.command('remove <principal>')
    .description('lift a block; the counts that led to it start again from zero')
    .action(async (raw: string) => {
      const p = principal(raw);
      await withStore(global(), async (store, cfg) => {
        initLog(cfg.log.level, cfg.node_id, process.stderr);
        if (!(await unblockPrincipal(store, p, Date.now()))) {
          throw new CliError(`${p} is not blocked; \`outpost block list\` shows the blocked principals`, 1);
        }
      });
      console.log(`unblocked ${p}`);
    });
}
