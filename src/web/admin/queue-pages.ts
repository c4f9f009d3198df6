/**
 * The queue pages: the listing with its filters, one message's whole history (envelope,
 * recipients with their state, every attempt) with the operator's actions, and the question
 * before a delete. Views come from queue/view.ts, as for `outpost queue list/show`.
 */
import type { AttemptView, MessageView, RecipientView } from '../../queue/view.js';
import type { RecipientState } from '../../store/store.js';
import { html, raw, type SafeHtml } from '../html.js';
import { adminLayout, age, headRow, plural, timeSec, type AdminUser } from './layout.js';

export const STATE_FILTERS: Array<[string, string]> = [
  ['', 'Not finished (queued, deferred or held)'],
  ['queued', 'Queued'],
  ['deferred', 'Deferred'],
  ['held', 'Held'],
  ['delivered', 'Delivered'],
  ['bounced', 'Bounced'],
  ['all', 'All messages'],
];

export interface QueueFilter {
  state: '' | 'all' | RecipientState;
  sender: string;
  domain: string;
}

export function stateBadge(state: RecipientState): SafeHtml {
  return html`<span class="badge s-${state}">${state}</span>`;
}

const sender = (from: string) => (from === '' ? '<> (notice from the gateway)' : from);
const iso = (s: string | null) => (s === null ? null : Date.parse(s));

function recipientCell(rs: RecipientView[]): SafeHtml {
  const shown = rs.slice(0, 3);
  const more = rs.length - shown.length;
  return html`<ul class="plain">
    ${shown.map((r) => html`<li>${r.address} ${stateBadge(r.state)}${r.in_flight ? ' (being delivered)' : ''}</li>`)}
    ${more > 0 ? html`<li>and ${plural(more, 'more recipient')}</li>` : ''}
  </ul>`;
}

export function queuePage(o: {
  user: AdminUser;
  filter: QueueFilter;
  messages: MessageView[];
  limit: number;
  now: number;
  done?: string;
}): string {
  const f = o.filter;
  const rows = o.messages.map(
    (m) => html`<tr>
      <th scope="row"><a href="/admin/queue/${m.id}"><code>${m.id}</code></a>${m.kind === 'notice' ? raw(' <span class="tag">notice</span>') : ''}</th>
      <td>${timeSec(Date.parse(m.created))}<br><span class="meta">${age(o.now - Date.parse(m.created))} ago</span></td>
      <td class="detail">${sender(m.from)}</td>
      <td>${recipientCell(m.recipients)}</td>
      <td>${m.size.toLocaleString('en')}</td>
    </tr>`,
  );
  const count =
    o.messages.length >= o.limit
      ? `The newest ${o.limit} matching messages.`
      : `${plural(o.messages.length, 'message')}.`;
  return adminLayout({
    title: 'Queue',
    user: o.user,
    current: 'queue',
    body: html`<h1>Queue</h1>
${o.done ? html`<p class="alert success" role="status">${o.done}</p>` : ''}
<form method="get" action="/admin/queue" class="card filters" role="search" aria-label="Filter the queue">
  <div class="field">
    <label for="state">State of a recipient</label>
    <select id="state" name="state">
      ${STATE_FILTERS.map(([v, t]) => html`<option value="${v}"${v === f.state ? raw(' selected') : ''}>${t}</option>`)}
    </select>
  </div>
  <div class="field">
    <label for="sender">Sender</label>
    <input id="sender" name="sender" type="text" spellcheck="false" autocapitalize="none"
      value="${f.sender}" aria-describedby="sender-hint">
    <p class="hint" id="sender-hint">The whole envelope sender address.</p>
  </div>
  <div class="field">
    <label for="domain">Recipient domain</label>
    <input id="domain" name="domain" type="text" spellcheck="false" autocapitalize="none" value="${f.domain}">
  </div>
  <button type="submit">Filter</button>
</form>
<p role="status" id="queue-count">${count}</p>
${o.messages.length === 0
  ? html`<p>No message matches.</p>`
  : html`<div class="scroll"><table class="queue">
  <caption class="visually-hidden">Messages, newest first</caption>
  ${headRow(['Queue id', 'Received', 'From', 'Recipients', 'Bytes'])}
  <tbody>${rows}</tbody>
</table></div>`}`,
  });
}

export type DoneAction = 'retry' | 'hold' | 'release' | 'deleted';

const DONE_TEXT: Record<DoneAction, string> = {
  retry: 'due now; the queue runner takes them at once.',
  hold: 'held: they stay in the queue and are not delivered until released.',
  release: 'released and due now.',
  deleted: 'deleted.',
};

export function doneSentence(action: DoneAction, n: number): string {
  return `${plural(n, 'recipient')} ${DONE_TEXT[action]}`;
}

function recipientRows(rs: RecipientView[]): SafeHtml[] {
  return rs.map((r) => {
    const next = r.in_flight
      ? html`being delivered now by ${r.lease_owner ?? ''}`
      : timeSec(iso(r.next_attempt));
    return html`<tr>
      <th scope="row">${r.address}</th>
      <td>${stateBadge(r.state)}</td>
      <td>${r.attempts}</td>
      <td>${timeSec(iso(r.last_attempt))}</td>
      <td>${next}</td>
      <td class="detail">${r.last_reply ?? ''}</td>
    </tr>`;
  });
}

function attemptRows(as: AttemptView[]): SafeHtml[] {
  return as.map(
    (a) => html`<tr>
      <th scope="row">${timeSec(Date.parse(a.time))}</th>
      <td>${a.recipients.join(', ')}</td>
      <td>${a.host ?? 'no host reached'}</td>
      <td>${a.ip ?? ''}</td>
      <td>${a.tls ? 'yes' : 'no'}</td>
      <td><span class="badge r-${a.result}">${a.result}</span></td>
      <td class="detail">${a.reply ?? ''}</td>
      <td>${a.node}</td>
    </tr>`,
  );
}

function actionForm(id: string, csrf: string, action: string, label: string, secondary = false) {
  return html`<form method="post" action="/admin/queue/${id}/${action}">
    <input type="hidden" name="csrf" value="${csrf}">
    <button type="submit"${secondary ? raw(' class="secondary"') : ''}>${label}</button>
  </form>`;
}

export function messagePage(o: {
  user: AdminUser;
  message: MessageView;
  attempts: AttemptView[];
  done?: string;
  now: number;
}): string {
  const m = o.message;
  const waiting = m.recipients.some((r) => r.state === 'queued' || r.state === 'deferred');
  const held = m.recipients.some((r) => r.state === 'held');
  const field = (label: string, value: SafeHtml | string | null) =>
    value === null || value === '' ? '' : html`<dt>${label}</dt><dd>${value}</dd>`;
  return adminLayout({
    title: `Message ${m.id}`,
    user: o.user,
    current: 'queue',
    body: html`<p class="crumbs"><a href="/admin/queue">Queue</a></p>
<h1>Message <code>${m.id}</code></h1>
${o.done ? html`<p class="alert success" role="status">${o.done}</p>` : ''}
<section aria-labelledby="envelope-h" class="card">
  <h2 id="envelope-h">Envelope</h2>
  <dl class="pairs">
    ${field('From', sender(m.from))}
    ${field('Received', html`${timeSec(Date.parse(m.created))} (${age(o.now - Date.parse(m.created))} ago)`)}
    ${field('Size', `${m.size.toLocaleString('en')} bytes`)}
    ${field('Kind', m.kind === 'notice' ? 'delivery status notice from the gateway' : 'message')}
    ${field('Sent by', m.principal)}
    ${field('Logged-in mailbox', m.auth_user)}
    ${field('Client address', m.client_ip)}
    ${field('ENVID', m.envid)}
    ${field('RET', m.ret)}
  </dl>
</section>
<section aria-labelledby="actions-h" class="actions-bar">
  <h2 id="actions-h">Actions</h2>
  <div class="buttons">
    ${waiting ? actionForm(m.id, o.user.csrf, 'retry', 'Retry now') : ''}
    ${waiting ? actionForm(m.id, o.user.csrf, 'hold', 'Hold', true) : ''}
    ${held ? actionForm(m.id, o.user.csrf, 'release', 'Release') : ''}
    <a class="button danger" href="/admin/queue/${m.id}/delete">Delete…</a>
  </div>
</section>
<section aria-labelledby="rcpt-h">
  <h2 id="rcpt-h">Recipients</h2>
  <div class="scroll"><table class="recipients">
    ${headRow(['Recipient', 'State', 'Attempts', 'Last attempt', 'Next attempt', 'Last reply'])}
    <tbody>${recipientRows(m.recipients)}</tbody>
  </table></div>
</section>
<section aria-labelledby="history-h">
  <h2 id="history-h">Delivery attempts</h2>
  ${o.attempts.length === 0
    ? html`<p>No attempt yet.</p>`
    : html`<div class="scroll"><table class="attempts">
    ${headRow(['Time', 'Recipients', 'Host', 'IP', 'TLS', 'Result', 'Reply', 'Node'])}
    <tbody>${attemptRows(o.attempts)}</tbody>
  </table></div>`}
</section>`,
  });
}

export function deletePage(o: { user: AdminUser; message: MessageView }): string {
  const m = o.message;
  const open = m.recipients.filter((r) => r.state !== 'delivered' && r.state !== 'bounced').length;
  return adminLayout({
    title: `Delete ${m.id}`,
    user: o.user,
    current: 'queue',
    body: html`<p class="crumbs"><a href="/admin/queue/${m.id}">Message <code>${m.id}</code></a></p>
<h1>Delete message <code>${m.id}</code>?</h1>
<p>From ${sender(m.from)}, ${plural(m.recipients.length, 'recipient')} of which ${open} not yet delivered or bounced.
The message and its history are removed from the store; this cannot be undone.</p>
<form method="post" action="/admin/queue/${m.id}/delete" class="card">
  <input type="hidden" name="csrf" value="${o.user.csrf}">
  <div class="field check">
    <input type="checkbox" id="bounce" name="bounce" value="1">
    <label for="bounce">Send the sender a failure notice for the recipients not yet done</label>
  </div>
  <div class="actions">
    <button type="submit" class="danger">Delete the message</button>
    <a href="/admin/queue/${m.id}">Cancel</a>
  </div>
</form>`,
  });
}
