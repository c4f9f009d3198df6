/**
 * `outpost queue ...`: look at the queue and act on it, like mailq/postqueue/postsuper.
 * The operations themselves live in src/queue/control.ts and src/queue/view.ts, shared with
 * the admin page; this file parses arguments and prints. A running gateway notices changes
 * within its poll interval (queue.poll_interval).
 */
import type { Command } from 'commander';
import { formatDuration } from '../config/units.js';
import { deleteMessage, holdMessage, releaseMessage, retryAll, retryMessage, type ControlContext } from '../queue/control.js';
import { attemptView, listQueue, messageView, statsView, type MessageView } from '../queue/view.js';
import { CliError, withStore, type GlobalOptions } from './common.js';

const notFound = (id: string) =>
  new CliError(`no message with queue id ${id}; \`outpost queue list --all\` shows every message`, 1);

export function registerQueue(program: Command): void {
  const global = () => program.opts<GlobalOptions>();
  const cmd = program.command('queue').description('list, inspect and control the delivery queue');
  const control = <T>(fn: (c: ControlContext) => Promise<T>) =>
    withStore(global(), (store, cfg) => fn({ store, cfg, now: Date.now }));

  cmd.command('list')
    .description('messages not yet finished (some recipient queued, deferred or held)')
    .option('--all', 'also messages whose recipients are all delivered or bounced')
    .option('--limit <n>', 'at most this many messages (default 1000)', (v) => positive(v, '--limit'))
    .option('--json', 'print JSON')
    .action(async (opts: { all?: boolean; limit?: number; json?: boolean }) => {
      const now = Date.now();
      const views = await withStore(global(), async (store) =>
        (await listQueue(store, { all: opts.all, limit: opts.limit })).map((m) => messageView(m, now)));
      if (opts.json) {
        console.log(JSON.stringify(views, null, 2));
        return;
      }
      printList(views, now, !!opts.all);
    });

  cmd.command('show <id>')
    .description("a message's envelope, each recipient's state and every delivery attempt")
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      const now = Date.now();
      const out = await withStore(global(), async (store) => {
        const m = await store.getMessage(id);
        if (!m) throw notFound(id);
        return { ...messageView(m, now), attempts: (await store.attempts(id)).map(attemptView) };
      });
      if (opts.json) {
        console.log(JSON.stringify(out, null, 2));
        return;
      }
      printShow(out, now);
    });

  cmd.command('retry [id]')
    .description('make deferred recipients due now (one message, or --all)')
    .option('--all', 'every deferred recipient in the queue')
    .action(async (id: string | undefined, opts: { all?: boolean }) => {
      if (opts.all) {
        const n = await control(retryAll);
        console.log(`${n} recipient${n === 1 ? '' : 's'} due now`);
        return;
      }
      if (!id) throw new CliError('give a queue id, or --all for every deferred recipient');
      const r = await control((c) => retryMessage(c, id));
      if (!r.ok) throw notFound(id);
      console.log(`${id}: ${r.recipients} recipient${r.recipients === 1 ? '' : 's'} due now`);
    });

  cmd.command('hold <id>')
    .description('keep the message from being delivered until released')
    .action(async (id: string) => {
      const r = await control((c) => holdMessage(c, id));
      if (!r.ok) throw notFound(id);
      console.log(`${id}: ${r.recipients} recipient${r.recipients === 1 ? '' : 's'} held`);
    });

  cmd.command('release <id>')
    .description('put held recipients back in the queue, due now')
    .action(async (id: string) => {
      const r = await control((c) => releaseMessage(c, id));
      if (!r.ok) throw notFound(id);
      console.log(`${id}: ${r.recipients} recipient${r.recipients === 1 ? '' : 's'} released`);
    });

  cmd.command('delete <id>')
    .description('remove the message from the queue')
    .option('--bounce', 'first tell the sender, with a failure notice for each recipient not yet done')
    .action(async (id: string, opts: { bounce?: boolean }) => {
      const r = await control((c) => deleteMessage(c, id, { bounce: opts.bounce }));
      if (!r.ok) throw notFound(id);
      const notice = r.notice ? `; failure notice ${r.notice} queued for the sender` : '';
      console.log(`${id}: deleted${notice}`);
    });

  cmd.command('stats')
    .description('recipients per state, messages, age of the oldest waiting message')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const now = Date.now();
      const s = statsView(await withStore(global(), (store) => store.stats()), now);
      if (opts.json) {
        console.log(JSON.stringify(s, null, 2));
        return;
      }
      const r = s.recipients;
      console.log(`messages:   ${s.messages}`);
      console.log(`recipients: ${r.queued} queued, ${r.deferred} deferred, ${r.held} held, ${r.delivered} delivered, ${r.bounced} bounced`);
      console.log(`oldest waiting: ${s.oldest_queued ? `${s.oldest_queued} (${formatDuration(s.oldest_queued_age_s! * 1000)} ago)` : 'none'}`);
    });
}

function positive(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${name} takes a positive whole number, not "${v}"`);
  return n;
}

function stateText(r: MessageView['recipients'][number]): string {
  if (r.in_flight) return `${r.state}, being delivered now (${r.lease_owner})`;
  if (r.next_attempt && (r.state === 'queued' || r.state === 'deferred')) return `${r.state}, next attempt ${r.next_attempt}`;
  return r.state;
}

function printList(views: MessageView[], now: number, all: boolean): void {
  if (views.length === 0) {
    console.log(all ? 'the queue is empty' : 'no message waiting (`--all` also lists finished ones)');
    return;
  }
  let rcpts = 0;
  for (const m of views) {
    const age = formatDuration(Math.max(0, Math.floor((now - Date.parse(m.created)) / 1000)) * 1000);
    console.log(`${m.id}  ${String(m.size).padStart(8)}  ${m.created} (${age} ago)  <${m.from}>${m.kind === 'notice' ? '  [notice]' : ''}`);
    for (const r of m.recipients) {
      rcpts++;
      console.log(`    <${r.address}>  ${stateText(r)}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}`);
      if (r.last_reply && r.state !== 'delivered') console.log(`        ${r.last_reply}`);
    }
  }
  console.log(`-- ${views.length} message${views.length === 1 ? '' : 's'}, ${rcpts} recipient${rcpts === 1 ? '' : 's'}`);
}

function printShow(m: MessageView & { attempts: ReturnType<typeof attemptView>[] }, now: number): void {
  const age = formatDuration(Math.max(0, Math.floor((now - Date.parse(m.created)) / 1000)) * 1000);
  console.log(`queue id:   ${m.id}${m.kind === 'notice' ? ' (delivery status notice)' : ''}`);
  console.log(`from:       <${m.from}>`);
  console.log(`arrived:    ${m.created} (${age} ago)`);
  console.log(`size:       ${m.size} bytes`);
  console.log(`sent by:    ${m.principal}${m.client_ip ? ` from ${m.client_ip}` : ''}`);
  if (m.envid || m.ret) console.log(`dsn:        ${[m.envid ? `ENVID=${m.envid}` : '', m.ret ? `RET=${m.ret}` : ''].filter(Boolean).join(' ')}`);
  console.log('recipients:');
  for (const r of m.recipients) {
    const extra = [r.notify ? `NOTIFY=${r.notify.join(',')}` : '', r.orcpt ? `ORCPT=${r.orcpt}` : ''].filter(Boolean).join(' ');
    console.log(`  <${r.address}>  ${stateText(r)}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}${extra ? `  (${extra})` : ''}`);
    if (r.last_reply) console.log(`      last reply: ${r.last_reply}`);
  }
  console.log(m.attempts.length ? 'attempts:' : 'attempts:   none yet');
  for (const a of m.attempts) {
    const where = a.host ? `${a.host}${a.ip && a.ip !== a.host ? ` [${a.ip}]` : ''}${a.tls ? ' TLS' : ''}` : '(no host reached)';
    console.log(`  ${a.time}  ${a.result}  ${where}  ${a.recipients.map((x) => `<${x}>`).join(' ')}`);
    if (a.reply) console.log(`      ${a.reply}`);
  }
}
