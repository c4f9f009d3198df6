/**
 * /admin/queue: the listing and its filters, one message's history, and the operator's
 * actions on it (retry now, hold, release, delete with or without a failure notice). The
 * actions are queue/control.ts's, the same functions `outpost queue` calls; this file adds
 * the audit line (which operator) and wakes this node's queue runner, so a retried or
 * released message leaves at once rather than at the next poll.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { maillog } from '../../maillog/log.js';
import {
  deleteMessage,
  holdMessage,
  releaseMessage,
  retryMessage,
  type ControlContext,
} from '../../queue/control.js';
import { attemptView, messageView, unfinished } from '../../queue/view.js';
import type { MessageFilter, MessageRow, RecipientState, Store } from '../../store/store.js';
import { sendPage } from '../respond.js';
import type { Session } from '../session.js';
import type { AdminDeps } from './auth.js';
import {
  deletePage,
  doneSentence,
  messagePage,
  queuePage,
  STATE_FILTERS,
  type DoneAction,
  type QueueFilter,
} from './queue-pages.js';
import { adminAction, adminPage, field, notFound, userOf } from './respond.js';

export const QUEUE_LIMIT = 200;
const OPEN_STATES: RecipientState[] = ['queued', 'deferred', 'held'];

function filterOf(req: FastifyRequest): QueueFilter {
  const q = req.query as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v.trim().slice(0, 320) : '');
  const state = str(q.state);
  return {
    state: STATE_FILTERS.some(([v]) => v === state) ? (state as QueueFilter['state']) : '',
    sender: str(q.sender),
    domain: str(q.domain).toLowerCase(),
  };
}

/** Messages for the filter, newest first; "not finished" is the union of the open states. */
async function listFor(store: Store, f: QueueFilter): Promise<MessageRow[]> {
  const base: MessageFilter = { limit: QUEUE_LIMIT };
  if (f.sender) base.sender = f.sender;
  if (f.domain) base.domain = f.domain;
  if (f.state === 'all') return store.listMessages(base);
  if (f.state !== '') return store.listMessages({ ...base, state: f.state });
  const parts = await Promise.all(OPEN_STATES.map((state) => store.listMessages({ ...base, state })));
  const byId = new Map<string, MessageRow>();
  for (const m of parts.flat()) if (unfinished(m)) byId.set(m.id, m);
  return [...byId.values()]
    .sort((a, b) => b.created - a.created || a.id.localeCompare(b.id))
    .slice(0, QUEUE_LIMIT);
}

const ACTIONS: Record<string, { done: DoneAction; run: typeof retryMessage }> = {
  retry: { done: 'retry', run: retryMessage },
  hold: { done: 'hold', run: holdMessage },
  release: { done: 'release', run: releaseMessage },
};

export function registerQueueRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { ctx } = deps;
  const control = (): ControlContext & { onQueued: () => void } => ({
    store: ctx.store,
    cfg: ctx.cfg,
    now: ctx.now,
    onQueued: () => ctx.queueEvents?.emit('queued'),
  });
  const idOf = (req: FastifyRequest) => (req.params as { id: string }).id;

  app.get(
    '/admin/queue',
    adminPage(deps, async (req, reply, s) => {
      const filter = filterOf(req);
      const now = ctx.now();
      const messages = (await listFor(ctx.store, filter)).map((m) => messageView(m, now));
      const done = deletedSentence(req.query as Record<string, unknown>);
      return sendPage(
        reply,
        200,
        queuePage({ user: userOf(s), filter, messages, limit: QUEUE_LIMIT, now, done }),
      );
    }),
  );

  app.get(
    '/admin/queue/:id',
    adminPage(deps, async (req, reply, s) => {
      const id = idOf(req);
      const m = await ctx.store.getMessage(id);
      if (!m) return gone(reply, s, id);
      const now = ctx.now();
      const q = req.query as Record<string, unknown>;
      const done = typeof q.done === 'string' && q.done in DONE_KEYS ? (q.done as DoneAction) : null;
      const n = Number(q.n);
      return sendPage(
        reply,
        200,
        messagePage({
          user: userOf(s),
          message: messageView(m, now),
          attempts: (await ctx.store.attempts(id)).map(attemptView),
          done: done && Number.isInteger(n) && n >= 0 ? doneSentence(done, n) : undefined,
          now,
        }),
      );
    }),
  );

  app.get(
    '/admin/queue/:id/delete',
    adminPage(deps, async (req, reply, s) => {
      const m = await ctx.store.getMessage(idOf(req));
      if (!m) return gone(reply, s, idOf(req));
      return sendPage(reply, 200, deletePage({ user: userOf(s), message: messageView(m, ctx.now()) }));
    }),
  );

  app.post(
    '/admin/queue/:id/:action',
    adminAction(deps, async (req, reply, s) => {
      const id = idOf(req);
      const name = (req.params as { action: string }).action;
      if (name === 'delete') {
        const bounce = field(req, 'bounce') === '1';
        const r = await deleteMessage(control(), id, { bounce });
        if (!r.ok) return gone(reply, s, id);
        maillog.adminAction(s.user, bounce ? 'delete+bounce' : 'delete', { qid: id, ip: req.ip });
        const notice = r.notice ? `&notice=${encodeURIComponent(r.notice)}` : '';
        return reply.redirect(`/admin/queue?deleted=${encodeURIComponent(id)}${notice}`, 303);
      }
      const action = ACTIONS[name];
      if (!action) return notFound(reply, s, 'There is no such action.');
      const r = await action.run(control(), id);
      if (!r.ok) return gone(reply, s, id);
      maillog.adminAction(s.user, name, { qid: id, recipients: r.recipients, ip: req.ip });
      if (name !== 'hold' && r.recipients > 0) ctx.queueEvents?.emit('queued', id);
      const back = `/admin/queue/${encodeURIComponent(id)}?done=${action.done}&n=${r.recipients}`;
      return reply.redirect(back, 303);
    }),
  );
}

const QUEUE_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** After a delete: which message went, and the failure notice queued for its sender, if any. */
function deletedSentence(q: Record<string, unknown>): string | undefined {
  const id = typeof q.deleted === 'string' && QUEUE_ID.test(q.deleted) ? q.deleted : null;
  if (!id) return undefined;
  const notice = typeof q.notice === 'string' && QUEUE_ID.test(q.notice) ? q.notice : null;
  return `Message ${id} deleted.` + (notice ? ` Failure notice ${notice} queued for the sender.` : '');
}

const DONE_KEYS: Record<DoneAction, true> = { retry: true, hold: true, release: true, deleted: true };

function gone(reply: FastifyReply, s: Session, id: string): FastifyReply {
  return notFound(reply, s, `There is no message with queue id ${id}; it may have been deleted.`);
}
