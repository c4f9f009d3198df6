/**
 * The one door into the queue. SMTP submission and webmail both call these functions, so
 * relay rights, sender policy, restrictions, scanning and fix-ups are written once:
 *
 *   checkSender    at MAIL FROM: relay rights, blocks and rates, bounce refusal, sender
 *                  ownership, sender domain
 *   checkRecipient at each RCPT: recipient count, restrictions
 *   submitMessage  with the whole message: scanners, restrictions, fix-ups, durable insert
 *
 * Each returns a reply value for a refusal and logs it; none throws for a refused message.
 * A queue id is returned only after the store has committed the message to disk.
 */
import type { AppContext } from '../app.js';
import { resolverOf } from '../dns/resolver.js';
import { maillog } from '../maillog/log.js';
import { mayUseSender } from '../policy/auth.js';
import { checkRelay } from '../policy/relay.js';
import { SenderDomainCheck } from '../policy/sender.js';
import { newQueueId } from '../queue/ids.js';
import { replies, type Reply } from '../reply/reply.js';
import type { ScanVerdict } from '../scan/scanner.js';
import { applyFixups } from './fixups.js';
import type { ScanOutcome } from './restrictions.js';
import { principalKey, type Principal, type Submission, type SubmitResult } from './types.js';

const senderChecks = new WeakMap<AppContext, SenderDomainCheck>();
const inflight = new Set<Promise<unknown>>();

function senderCheck(ctx: AppContext): SenderDomainCheck {
  let c = senderChecks.get(ctx);
  if (!c) {
    c = new SenderDomainCheck(resolverOf(ctx), ctx.now);
    senderChecks.set(ctx, c);
  }
  return c;
}

function refuse(who: Principal, stage: string, r: Reply, extra: Record<string, unknown> = {}): Reply {
  maillog.refused({ sid: who.sessionId, ...(extra.qid ? { qid: extra.qid as string } : {}) }, stage, r, {
    ip: who.clientIp,
    user: who.authUser,
    ...extra,
  });
  return r;
}

/** MAIL FROM: null when `sender` ('' for <>) may be used by `who`, else the refusal. */
export async function checkSender(ctx: AppContext, who: Principal, sender: string): Promise<Reply | null> {
  const relay = checkRelay(who);
  if (relay) return refuse(who, 'mail', relay, { sender });

  const restricted = await ctx.restrictions?.beforeMail(who);
  if (restricted) return refuse(who, 'mail', restricted, { sender });

  // Bounces come from the gateway itself; a customer's server relaying its own bounces
  // through us would make us send backscatter.
  if (sender === '') return refuse(who, 'mail', replies.nullSender, { sender });

  // A trusted network may send as anyone (it needs no login); a logged-in mailbox from
  // anywhere else only as itself or what it was granted.
  if (who.authUser && !who.trusted) {
    const account = await ctx.store.getAccount(who.authUser);
    if (!account || !mayUseSender(account, sender)) {
      return refuse(who, 'mail', replies.senderNotOwned(sender), { sender });
    }
  }

  const domain = await senderCheck(ctx).check(sender);
  if (domain) return refuse(who, 'mail', domain, { sender });
  return null;
}

/** RCPT TO: null when `rcpt` may be added as recipient number countSoFar + 1. */
export async function checkRecipient(
  ctx: AppContext,
  who: Principal,
  rcpt: string,
  countSoFar: number,
): Promise<Reply | null> {
  const relay = checkRelay(who);
  if (relay) return refuse(who, 'rcpt', relay, { rcpt });
  // RFC 5321 section 4.5.3.1.8: at least 100 must be accepted; beyond our limit, 452 asks
  // the client to send the rest in another transaction.
  if (countSoFar >= ctx.cfg.smtp.max_recipients) {
    return refuse(who, 'rcpt', replies.tooManyRecipients, { rcpt });
  }
  if (!/^[^@]+@[^@]+$/.test(rcpt)) {
    await ctx.restrictions?.onInvalidRecipient?.(who, rcpt);
    return refuse(who, 'rcpt', replies.badRecipientSyntax, { rcpt });
  }
  const restricted = await ctx.restrictions?.onRecipient(who, rcpt, countSoFar);
  if (restricted) return refuse(who, 'rcpt', restricted, { rcpt });
  return null;
}

/** Runs the scanners in order; stops at the first refusal. */
async function runScanners(
  ctx: AppContext,
  sub: Submission,
  message: Buffer,
  qid: string,
): Promise<ScanOutcome[]> {
  const outcomes: ScanOutcome[] = [];
  const envelope = {
    sessionId: sub.sessionId,
    clientIp: sub.clientIp,
    heloName: sub.heloName,
    sender: sub.sender,
    recipients: sub.recipients.map((r) => r.address),
    authUser: sub.authUser,
  };
  for (const scanner of ctx.scanners) {
    let verdict: ScanVerdict;
    try {
      verdict = await scanner.scan(message, envelope);
    } catch (err) {
      // A scanner must not throw; if one does, the message is not let through unscanned.
      maillog.scanFailed({ sid: sub.sessionId, qid }, scanner.name, { error: (err as Error).message });
      verdict = { kind: 'unavailable', reply: replies.scannerUnavailable(scanner.name), detail: String(err) };
    }
    outcomes.push({ scanner: scanner.name, verdict });
    if (verdict.kind !== 'clean') break;
  }
  return outcomes;
}

/**
 * Takes a whole message (CRLF line ends, dot-unstuffed, byte checks already done) and
 * queues it. Resolves only after the store has made the message durable.
 */
export function submitMessage(ctx: AppContext, sub: Submission, message: Buffer): Promise<SubmitResult> {
  const p = submit(ctx, sub, message);
  inflight.add(p);
  void p.finally(() => inflight.delete(p));
  return p;
}

async function submit(ctx: AppContext, sub: Submission, message: Buffer): Promise<SubmitResult> {
  const now = ctx.now();
  const qid = newQueueId(now);
  const ids = { qid, sender: sub.sender, recipients: sub.recipients.length, size: message.length };

  const outcomes = await runScanners(ctx, sub, message, qid);
  const restricted = await ctx.restrictions?.afterScan(sub, outcomes);
  const last = outcomes[outcomes.length - 1]?.verdict;
  if (last && last.kind !== 'clean') {
    const scanner = outcomes[outcomes.length - 1]!.scanner;
    return { ok: false, reply: refuse(sub, 'data', last.reply, { ...ids, scanner, detail: last.detail }) };
  }
  if (restricted) return { ok: false, reply: refuse(sub, 'data', restricted, ids) };

  const extraHeaders = outcomes.flatMap((o) => (o.verdict.kind === 'clean' ? o.verdict.headers ?? [] : []));
  const body = applyFixups({ sub, message, queueId: qid, hostname: ctx.cfg.hostname, now, extraHeaders });

  try {
    await ctx.store.insertMessage({
      id: qid,
      sender: sub.sender,
      recipients: sub.recipients,
      body,
      created: now,
      envid: sub.envid,
      ret: sub.ret,
      principal: principalKey(sub),
      authUser: sub.authUser,
      clientIp: sub.clientIp,
      smtputf8: sub.smtputf8,
      eightBit: sub.eightBit,
      kind: 'message',
    });
  } catch (err) {
    maillog.error({ qid, sid: sub.sessionId, error: (err as Error).message }, 'could not store the message');
    return { ok: false, reply: refuse(sub, 'data', replies.localError, ids) };
  }

  // Wake the queue runner now rather than at its next poll.
  ctx.queueEvents?.emit('queued', qid);
  maillog.accepted(qid, {
    sid: sub.sessionId,
    sender: sub.sender,
    recipients: sub.recipients.length,
    size: body.length,
    user: sub.authUser,
    ip: sub.clientIp,
    protocol: sub.protocol,
  });
  try {
    await ctx.restrictions?.onAccepted(sub, qid, body.length);
  } catch (err) {
    maillog.warn({ qid, error: (err as Error).message }, 'restriction bookkeeping failed');
  }
  return { ok: true, queueId: qid };
}

/** Resolves once every submission in progress has finished (for a clean shutdown). */
export async function drainSubmissions(): Promise<void> {
  while (inflight.size > 0) await Promise.allSettled([...inflight]);
}
