/**
 * Operators' actions on the queue, shared by `outpost queue` and the admin page: retry now,
 * hold, release, delete (optionally bouncing to the sender). Each works on the recipients'
 * rows through the store and logs one line per message.
 *
 * Limits: a recipient being delivered at this moment is held or deleted only in the store;
 * the attempt in flight finishes and writes its outcome (a hold is then lost for it, and a
 * deleted message may still reach a recipient it was already being sent to).
 */
import type { LoadedConfig } from '../config/load.js';
import { localReply } from '../delivery/outcome.js';
import { maillog } from '../maillog/log.js';
import type { MessageRow, RecipientRow, RecipientUpdate, Store } from '../store/store.js';
import { wants } from './decide.js';
import { queueNotice } from './notices.js';

export interface ControlContext {
  store: Store;
  cfg: Pick<LoadedConfig, 'hostname'>;
  now: () => number;
}

export type ControlResult = { ok: true; recipients: number } | { ok: false; error: 'not_found' };

const waiting = (r: RecipientRow): boolean => r.state === 'queued' || r.state === 'deferred';

/** Makes the message's waiting recipients due now (deferred ones skip the rest of their wait). */
export async function retryMessage(ctx: ControlContext, id: string): Promise<ControlResult> {
  const m = await ctx.store.getMessage(id);
  if (!m) return { ok: false, error: 'not_found' };
  const now = ctx.now();
  // A leased recipient is being delivered; making it due would start a second attempt.
  const rows = m.recipients.filter((r) => waiting(r) && !(r.leaseOwner && r.nextAttempt !== null && r.nextAttempt > now));
  await ctx.store.recordOutcomes(rows.map((r): RecipientUpdate => ({ id: r.id, state: r.state, nextAttempt: now })));
  maillog.queueAction(id, 'retry', { recipients: rows.length });
  return { ok: true, recipients: rows.length };
}

/** `queue retry --all`: every deferred recipient due now. Returns how many. */
export async function retryAll(ctx: ControlContext): Promise<number> {
  let n = 0;
  for (const m of await ctx.store.listMessages({ state: 'deferred', limit: 1_000_000 })) {
    const r = await retryMessage(ctx, m.id);
    if (r.ok) n += r.recipients;
  }
  return n;
}

/** Takes the message's waiting recipients out of delivery until released. */
export async function holdMessage(ctx: ControlContext, id: string): Promise<ControlResult> {
  const m = await ctx.store.getMessage(id);
  if (!m) return { ok: false, error: 'not_found' };
  const rows = m.recipients.filter(waiting);
  await ctx.store.recordOutcomes(rows.map((r): RecipientUpdate => ({ id: r.id, state: 'held', nextAttempt: null })));
  maillog.queueAction(id, 'hold', { recipients: rows.length });
  return { ok: true, recipients: rows.length };
}

/** Puts held recipients back in the queue, due now. */
export async function releaseMessage(ctx: ControlContext, id: string): Promise<ControlResult> {
  const m = await ctx.store.getMessage(id);
  if (!m) return { ok: false, error: 'not_found' };
  const now = ctx.now();
  const rows = m.recipients.filter((r) => r.state === 'held');
  await ctx.store.recordOutcomes(rows.map((r): RecipientUpdate => ({
    id: r.id, state: r.attempts > 0 ? 'deferred' : 'queued', nextAttempt: now,
  })));
  maillog.queueAction(id, 'release', { recipients: rows.length });
  return { ok: true, recipients: rows.length };
}

/**
 * Removes the message. With `bounce`, the sender first gets a failure notice for every
 * recipient not yet delivered or bounced (when the sender wants failure notices at all).
 */
export async function deleteMessage(
  ctx: ControlContext & { onQueued?: () => void },
  id: string,
  opts: { bounce?: boolean } = {},
): Promise<ControlResult & { notice?: string | null }> {
  const m = await ctx.store.getMessage(id);
  if (!m) return { ok: false, error: 'not_found' };
  let notice: string | null = null;
  const open = m.recipients.filter((r) => r.state !== 'delivered' && r.state !== 'bounced');
  if (opts.bounce) notice = await bounceOnDelete(ctx, m, open);
  await ctx.store.deleteMessage(id);
  maillog.queueAction(id, opts.bounce ? 'delete+bounce' : 'delete', { recipients: open.length, notice });
  return { ok: true, recipients: open.length, notice };
}

async function bounceOnDelete(ctx: ControlContext & { onQueued?: () => void }, m: MessageRow, rows: RecipientRow[]): Promise<string | null> {
  const reply = localReply(550, '5.0.0', 'Removed from the queue by the gateway operator; it will not be delivered');
  const now = ctx.now();
  const recipients = rows.filter((r) => wants(r, 'FAILURE')).map((r) => ({
    address: r.address,
    orcpt: r.orcpt,
    action: 'failed' as const,
    status: '5.0.0',
    reply,
    mx: null,
    ip: null,
    lastAttempt: r.lastAttempt ?? now,
  }));
  const body = await ctx.store.readBody(m.id);
  return queueNotice(ctx, m, body, 'failed', recipients);
}
