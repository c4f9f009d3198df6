/**
 * /admin/blocks: the blocked principals (mailboxes and client addresses), why and since when,
 * with the counts that led to each block, and a button to lift one. Lifting is
 * policy/blocks.ts's unblockPrincipal, the same function `outpost block remove` calls: the
 * counts start again from zero.
 */
import type { FastifyInstance } from 'fastify';
import { maillog } from '../../maillog/log.js';
import { unblockPrincipal } from '../../policy/blocks.js';
import type { Block } from '../../store/store.js';
import { html } from '../html.js';
import { sendPage } from '../respond.js';
import type { AdminDeps } from './auth.js';
import { adminLayout, age, headRow, plural, timeSec, type AdminUser } from './layout.js';
import { adminAction, adminPage, field, userOf } from './respond.js';

function countsText(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k.replace(/_/g, ' ')}: ${n}`);
  return parts.join(', ');
}

export function blocksPage(o: { user: AdminUser; blocks: Block[]; now: number; done?: string }): string {
  const rows = o.blocks.map(
    (b) => html`<tr>
      <th scope="row"><code>${b.principal}</code></th>
      <td class="detail">${b.reason}</td>
      <td>${timeSec(b.since)}<br><span class="meta">${age(o.now - b.since)} ago</span></td>
      <td>${countsText(b.counts)}</td>
      <td>
        <form method="post" action="/admin/blocks/lift">
          <input type="hidden" name="csrf" value="${o.user.csrf}">
          <input type="hidden" name="principal" value="${b.principal}">
          <button type="submit" class="secondary" aria-label="Lift the block on ${b.principal}">Lift</button>
        </form>
      </td>
    </tr>`,
  );
  return adminLayout({
    title: 'Blocks',
    user: o.user,
    current: 'blocks',
    body: html`<h1>Blocks</h1>
<p>A blocked sender gets <code>550 5.7.1</code> at every MAIL FROM until the block is lifted.</p>
${o.done ? html`<p class="alert success" role="status">${o.done}</p>` : ''}
<p id="blocks-count">${plural(o.blocks.length, 'blocked principal')}.</p>
${o.blocks.length === 0
  ? ''
  : html`<div class="scroll"><table class="blocks">
  ${headRow(['Principal', 'Reason', 'Since', 'Counts', html`<span class="visually-hidden">Action</span>`])}
  <tbody>${rows}</tbody>
</table></div>`}`,
  });
}

export function registerBlockRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { ctx } = deps;

  app.get(
    '/admin/blocks',
    adminPage(deps, async (req, reply, s) => {
      const q = req.query as Record<string, unknown>;
      const lifted = typeof q.lifted === 'string' ? q.lifted.slice(0, 330) : null;
      const missing = typeof q.missing === 'string' ? q.missing.slice(0, 330) : null;
      const done = lifted
        ? `The block on ${lifted} was lifted.`
        : missing
          ? `${missing} was not blocked (any more).`
          : undefined;
      const blocks = await ctx.store.listBlocks();
      return sendPage(reply, 200, blocksPage({ user: userOf(s), blocks, now: ctx.now(), done }));
    }),
  );

  app.post(
    '/admin/blocks/lift',
    adminAction(deps, async (req, reply, s) => {
      const principal = field(req, 'principal').slice(0, 330);
      const lifted = principal !== '' && (await unblockPrincipal(ctx.store, principal, ctx.now()));
      if (lifted) maillog.adminAction(s.user, 'unblock', { principal, ip: req.ip });
      const q = `${lifted ? 'lifted' : 'missing'}=${encodeURIComponent(principal)}`;
      return reply.redirect(`/admin/blocks?${q}`, 303);
    }),
  );
}
