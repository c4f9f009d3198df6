/**
 * /admin: the overview. The queue as the store holds it (shared by every node on the same
 * database), the number of blocks, and the charts of the last hours.
 */
import type { FastifyInstance } from 'fastify';
import type { QueueStats, RecipientState } from '../../store/store.js';
import { html } from '../html.js';
import { sendPage } from '../respond.js';
import type { AdminDeps } from './auth.js';
import { chartStart, charts, CHART_HOURS } from './charts.js';
import { adminLayout, age, plural, timeSec, type AdminUser } from './layout.js';
import { stateBadge } from './queue-pages.js';
import { adminPage, userOf } from './respond.js';

const STATES: RecipientState[] = ['queued', 'deferred', 'held', 'delivered', 'bounced'];

export function overviewPage(o: {
  user: AdminUser;
  stats: QueueStats;
  blocks: number;
  chartsHtml: ReturnType<typeof charts>;
  node: string;
  now: number;
}): string {
  const s = o.stats;
  return adminLayout({
    title: 'Overview',
    user: o.user,
    current: 'overview',
    body: html`<h1>Overview</h1>
<section aria-labelledby="queue-h" class="card">
  <h2 id="queue-h">Queue</h2>
  <table class="states">
    <caption class="visually-hidden">Recipients by state</caption>
    <thead><tr><th scope="col">State</th><th scope="col">Recipients</th></tr></thead>
    <tbody>
      ${STATES.map(
        (st) => html`<tr><th scope="row"><a href="/admin/queue?state=${st}">${stateBadge(st)}</a></th><td>${s.recipients[st]}</td></tr>`,
      )}
    </tbody>
  </table>
  <p>${plural(s.messages, 'message')} in the store.
  Oldest waiting: ${s.oldestQueued === null ? 'none' : html`${timeSec(s.oldestQueued)} (${age(o.now - s.oldestQueued)} ago)`}.</p>
  <p><a href="/admin/blocks">${plural(o.blocks, 'blocked principal')}</a>.</p>
  <p class="meta">Shown by node ${o.node}; the figures are those of the store all nodes share.</p>
</section>
<section aria-labelledby="charts-h">
  <h2 id="charts-h">Last ${CHART_HOURS} hours</h2>
  <p class="meta">Per hour (UTC): messages accepted, recipients delivered and bounced, attempts deferred.</p>
  ${o.chartsHtml}
</section>`,
  });
}

export function registerOverview(app: FastifyInstance, deps: AdminDeps): void {
  const { ctx } = deps;
  app.get(
    '/admin',
    adminPage(deps, async (_req, reply, s) => {
      const now = ctx.now();
      const [stats, blocks, hourly] = await Promise.all([
        ctx.store.stats(),
        ctx.store.listBlocks(),
        ctx.store.hourlyCounts(chartStart(now)),
      ]);
      return sendPage(
        reply,
        200,
        overviewPage({
          user: userOf(s),
          stats,
          blocks: blocks.length,
          chartsHtml: charts(hourly, now),
          node: ctx.node,
          now,
        }),
      );
    }),
  );
}
