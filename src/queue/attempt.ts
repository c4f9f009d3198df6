/**
 * One attempt: the claimed recipients of one message at one destination domain are handed
 * to delivery, the outcomes go through decide(), the notices are queued, and the new state
 * and the attempt record are written in one store transaction. Notices are stored before
 * the outcomes, so a crash in between can repeat a notice but never lose one.
 */
import type { AppContext } from '../app.js';
import type { OutgoingMessage } from '../delivery/client.js';
import type { DeliveryResult } from '../delivery/deliver.js';
import { maillog } from '../maillog/log.js';
import type { MessageRow, RecipientRow } from '../store/store.js';
import { decide, lostBodyOutcomes, wants } from './decide.js';
import { queueNotice } from './notices.js';
import type { RetrySchedule } from './schedule.js';

export interface Job {
  messageId: string;
  domain: string;
  recipientIds: number[];
}

export type DeliverFn = (domain: string, message: OutgoingMessage) => Promise<DeliveryResult>;

export interface AttemptDeps {
  ctx: AppContext;
  schedule: RetrySchedule;
  deliver: DeliverFn;
  onNoticeQueued: () => void;
}

export async function runAttempt(job: Job, deps: AttemptDeps): Promise<void> {
  const { ctx } = deps;
  const msg = await ctx.store.getMessage(job.messageId);
  if (!msg) return; // deleted by an operator meanwhile
  // Only recipients still ours and still waiting: an operator may have held or finished one.
  const ids = new Set(job.recipientIds);
  const rows = msg.recipients.filter((r) =>
    ids.has(r.id) && (r.state === 'queued' || r.state === 'deferred') && r.leaseOwner === ctx.node);
  if (rows.length === 0) return;

  const body = await ctx.store.readBody(msg.id);
  let result: DeliveryResult;
  if (body === null) {
    maillog.error({ qid: msg.id }, 'queued message has no body; bouncing its recipients');
    result = { outcomes: lostBodyOutcomes(rows), skipped: [] };
  } else {
    result = await deps.deliver(job.domain, outgoing(msg, rows, body));
  }

  const now = ctx.now();
  const d = decide({ msg, rows, outcomes: result.outcomes, now, schedule: deps.schedule, retry: ctx.cfg.retry, node: ctx.node });

  const noticeCtx = { store: ctx.store, cfg: ctx.cfg, now: ctx.now, onQueued: deps.onNoticeQueued };
  await queueNotice(noticeCtx, msg, body, 'failed', d.failed, d.failed.length > 0 && d.failed.every((f) => d.expired.includes(f.address)));
  await queueNotice(noticeCtx, msg, body, 'delayed', d.delayed);
  await queueNotice(noticeCtx, msg, body, 'delivered', d.delivered);
  await ctx.store.recordOutcomes(d.updates, d.attempt);
  try {
    await ctx.restrictions?.onDeliveryFailures?.(msg, result.outcomes);
  } catch (err) {
    maillog.warn({ qid: msg.id, error: (err as Error).message }, 'restriction bookkeeping failed');
  }

  const first = result.outcomes.find((o) => o.mx);
  const uniform = new Set(d.results.map((r) => `${r.result} ${r.reply}`)).size === 1;
  maillog.attempt(msg.id, {
    domain: job.domain,
    recipients: rows.map((r) => r.address),
    mx: first?.mx ?? null,
    ip: first?.ip ?? null,
    tls: first?.tls ?? false,
    result: d.attempt.result,
    reply: d.attempt.reply,
    ...(uniform ? {} : { results: d.results.map((r) => ({ to: r.to, result: r.result, reply: r.reply })) }),
    delay: Math.round((now - msg.created) / 100) / 10,
    attempts: Math.max(...rows.map((r) => r.attempts)) + 1,
    next_attempt: nextOf(d.results),
    ...(result.skipped.length ? { skipped: result.skipped.map((s) => ({ mx: s.target.mx, ip: s.target.ip, reply: s.reply.text })) } : {}),
  });
  for (const r of d.results) {
    if (r.result === 'deferred') continue;
    const expired = d.expired.includes(r.to) ? { expired: true } : {};
    maillog.recipientDone(msg.id, { to: r.to, result: r.result, reply: r.reply, ...expired });
  }
  for (const o of d.dropped) {
    maillog.noticeDropped(msg.id, { to: o.address, reply: r(o.reply) });
  }
}

function r(reply: { code: number; enhanced: string | null; text: string }): string {
  return `${reply.code} ${reply.enhanced ?? ''} ${reply.text}`.replace(/\s+/g, ' ').trim();
}

function nextOf(results: Array<{ next_attempt: number | null }>): string | null {
  const times = results.map((x) => x.next_attempt).filter((t): t is number => t !== null);
  return times.length ? new Date(Math.min(...times)).toISOString() : null;
}

/** The message as delivery sees it. NOTIFY=SUCCESS is answered here, so it is not passed on. */
function outgoing(msg: MessageRow, rows: RecipientRow[], body: Buffer): OutgoingMessage {
  return {
    sender: msg.sender,
    recipients: rows.map((row) => ({
      address: row.address,
      notify: passOnNotify(row),
      orcpt: row.orcpt,
    })),
    body,
    envid: msg.envid,
    ret: msg.ret,
    smtputf8: msg.smtputf8,
    eightBit: msg.eightBit,
  };
}

/**
 * The gateway reports success itself (Action: delivered) when the remote accepts; passing
 * SUCCESS on as well would give the sender two reports for one recipient.
 */
function passOnNotify(row: RecipientRow): RecipientRow['notify'] {
  if (!row.notify) return null;
  if (!wants(row, 'SUCCESS')) return row.notify;
  const rest = row.notify.filter((n) => n !== 'SUCCESS');
  return rest.length ? rest : ['NEVER'];
}
