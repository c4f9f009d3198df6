/**
 * The sent messages page: each recent message with a table of its recipients and their
 * state. The page script (assets/sent.js) polls /api/sent and updates the same cells in place,
 * announcing changes through a polite live region, so a screen reader hears "delivered"
 * without the page jumping.
 */
import { html, timeTag, type SafeHtml } from './html.js';
import { layout, type PageUser } from './layout.js';
import type { MessageStatus, RecipientStatus } from './status.js';

export interface SentView {
  user: PageUser;
  messages: MessageStatus[];
  /** The queue id of a message just sent from the compose page. */
  queued?: string;
}

export function sentPage(v: SentView): string {
  const flash = v.queued
    ? html`<p class="alert success" role="status" id="queued-note">
  Your message was accepted and queued as ${v.queued}. Its delivery is shown below.
</p>`
    : '';
  const list = v.messages.length
    ? v.messages.map(messageBlock)
    : html`<p id="no-messages">You have not sent any messages recently.</p>`;
  return layout({
    title: 'Sent messages',
    user: v.user,
    current: 'sent',
    scripts: ['/assets/sent.js'],
    body: html`<h1>Sent messages</h1>
${flash}
<p class="hint">Your recent messages and where each one is. This page updates by itself. Times are in UTC.</p>
<div id="live" class="visually-hidden" aria-live="polite" aria-atomic="false"></div>
<div id="messages">
${list}
</div>`,
  });
}

export function messageBlock(m: MessageStatus): SafeHtml {
  const title = m.subject || '(no subject)';
  return html`<section class="message" id="m-${m.id}" data-id="${m.id}" aria-labelledby="m-${m.id}-h">
  <h2 id="m-${m.id}-h">${title}</h2>
  <p class="meta">Sent ${timeTag(m.created)}, queue id <code>${m.id}</code></p>
  <table>
    <caption class="visually-hidden">Recipients of ${title}</caption>
    <thead><tr><th scope="col">Recipient</th><th scope="col">State</th><th scope="col">Details</th></tr></thead>
    <tbody>
      ${m.recipients.map(recipientRow)}
    </tbody>
  </table>
</section>`;
}

function recipientRow(r: RecipientStatus): SafeHtml {
  return html`<tr id="r-${String(r.id)}" data-state="${r.state}">
        <th scope="row">${r.address}</th>
        <td class="state"><span class="badge s-${r.state}">${r.state}</span></td>
        <td class="detail">${r.detail}</td>
      </tr>`;
}
