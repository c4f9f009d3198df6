/**
 * GET /metrics on the web listener: the per-node metrics with this node's label, then the
 * shared queue gauges, read from the store at scrape time. The store's figures are kept for
 * a moment, so that several scrapers (or a dashboard refreshing often) cost one query.
 *
 * Only clients inside web.metrics_from (default: loopback) get an answer, judged by the
 * client address the web listener believes (X-Forwarded-For only from web.trusted_proxies):
 * the counts are not secret, but they are nobody else's business either.
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { maillog } from '../maillog/log.js';
import { NetworkList } from '../policy/networks.js';
import type { Store } from '../store/store.js';
import { nodeRegistry, queueGauges, queueRegistry, startProcessMetrics } from './metrics.js';

/** How long the store's figures are reused. */
const FRESH_MS = 1500;

const fresh = new WeakMap<Store, { at: number; done: Promise<void> }>();

async function readQueue(store: Store, now: number): Promise<void> {
  const [stats, blocks] = await Promise.all([store.stats(), store.listBlocks()]);
  for (const [state, n] of Object.entries(stats.recipients)) {
    queueGauges.recipients.set({ state }, n);
  }
  queueGauges.messages.set(stats.messages);
  queueGauges.oldestAge.set(
    stats.oldestQueued === null ? 0 : Math.max(0, (now - stats.oldestQueued) / 1000),
  );
  queueGauges.blocks.set(blocks.length);
}

function refreshQueue(ctx: AppContext): Promise<void> {
  const now = ctx.now();
  const last = fresh.get(ctx.store);
  if (last && now - last.at < FRESH_MS) return last.done;
  const done = readQueue(ctx.store, now);
  fresh.set(ctx.store, { at: now, done });
  // A failed read is not reused: the next scrape asks the store again.
  done.catch(() => fresh.delete(ctx.store));
  return done;
}

/** The whole exposition text: per-node metrics, then (when the store answers) the queue. */
export async function metricsText(ctx: AppContext): Promise<string> {
  let shared = '';
  try {
    await refreshQueue(ctx);
    shared = await queueRegistry.metrics();
  } catch (err) {
    // The node's own counters are still worth a scrape when the database is away.
    maillog.warn({ kind: 'metrics', error: (err as Error).message }, 'queue figures unavailable');
  }
  nodeRegistry.setDefaultLabels({ node: ctx.node });
  return (await nodeRegistry.metrics()) + shared;
}

export function registerMetricsRoute(app: FastifyInstance, ctx: AppContext): void {
  startProcessMetrics();
  const allowed = new NetworkList(ctx.cfg.web.metrics_from);
  app.get('/metrics', async (req, reply) => {
    if (!allowed.has(req.ip)) {
      return reply
        .code(403)
        .type('text/plain; charset=utf-8')
        .send('Forbidden: /metrics answers only addresses in web.metrics_from.\n');
    }
    const body = await metricsText(ctx);
    return reply.type(nodeRegistry.contentType).send(body);
  });
}
