/**
 * The compose page. Each field has a visible label tied to its input; an error is shown in a
 * summary at the top (announced, with links to the fields) and next to its field
 * (aria-describedby, aria-invalid). After a refusal the fields come back as typed; a browser
 * cannot refill a file input, so the page says that attachments must be chosen again.
 */
import type { ComposeFields, FieldErrors, FieldName } from './compose-form.js';
import { LABELS } from './compose-form.js';
import { html, raw, type SafeHtml } from './html.js';
import { layout, type PageUser } from './layout.js';

export interface ComposeView {
  user: PageUser;
  fields: ComposeFields;
  /** A refusal of the whole message, e.g. the gateway's reply. */
  problem?: string;
  errors?: FieldErrors;
  /** The form came back after an error and had files: they must be selected again. */
  hadAttachments?: boolean;
  maxBytes: number;
}

export function composePage(v: ComposeView): string {
  const errors = v.errors ?? {};
  const failed = v.problem !== undefined || Object.keys(errors).length > 0;
  const errorItems = (Object.keys(errors) as FieldName[]).map(
    (f) => html`<li><a href="#${f}">${LABELS[f]}: ${errors[f]!}</a></li>`,
  );
  const summary = failed
    ? html`<div class="alert error" role="alert" id="problem" tabindex="-1">
  <h2>The message was not sent</h2>
  ${v.problem ? html`<p>${v.problem}</p>` : ''}
  ${errorItems.length ? html`<ul>${errorItems}</ul>` : ''}
  <p>Your text is kept below.${v.hadAttachments ? ATTACHMENTS_LOST : ''}</p>
</div>`
    : '';

  const input = (
    name: 'to' | 'cc' | 'bcc' | 'subject',
    hint?: string,
    extra?: SafeHtml,
  ): SafeHtml =>
    field(
      name,
      errors[name],
      hint,
      (describedBy, invalid) =>
        html`<input id="${name}" name="${name}" type="text" value="${v.fields[name]}"
          ${describedBy}${invalid}${extra ?? ''}>`,
    );
  const addrAttrs = raw(
    ' inputmode="email" autocomplete="off" autocapitalize="none" spellcheck="false"',
  );
  const several = 'Several addresses: separate them with commas.';

  return layout({
    title: 'Write a message',
    user: v.user,
    current: 'compose',
    scripts: ['/assets/compose.js'],
    body: html`<h1>Write a message</h1>
${summary}
<form method="post" action="/compose" enctype="multipart/form-data" class="card compose" novalidate>
  <input type="hidden" name="csrf" value="${v.user.csrf}">
  <p class="from">From: <strong>${v.user.address}</strong></p>
  ${input('to', several, addrAttrs)}
  ${input('cc', undefined, addrAttrs)}
  ${input('bcc', 'Bcc recipients get the message but are not shown to the others.', addrAttrs)}
  ${input('subject')}
  ${field(
    'message',
    errors.message,
    undefined,
    (d, i) =>
      html`<textarea id="message" name="message" rows="12"${d}${i}>${v.fields.message}</textarea>`,
  )}
  ${field(
    'attachments',
    errors.attachments,
    `Optional. The whole message may be at most ${formatSize(v.maxBytes)}; ` +
      'attachments grow by about a third when sent.' +
      (v.hadAttachments ? ' Select your files again: they were not kept after the error.' : ''),
    (d, i) =>
      html`<input id="attachments" name="attachments" type="file" multiple
        data-max-bytes="${String(v.maxBytes)}"${d}${i}>`,
  )}
  <div class="actions">
    <button type="submit">Send</button>
  </div>
</form>`,
  });
}

const ATTACHMENTS_LOST = ' Attachments are not kept: select them again before sending.';

type Control = (describedBy: SafeHtml, invalid: SafeHtml) => SafeHtml;

function field(
  name: FieldName,
  error: string | undefined,
  hint: string | undefined,
  control: Control,
): SafeHtml {
  const ids = [hint ? `${name}-hint` : '', error ? `${name}-error` : ''].filter(Boolean).join(' ');
  const describedBy = ids ? html` aria-describedby="${ids}"` : raw('');
  const invalid = error ? raw(' aria-invalid="true"') : raw('');
  return html`<div class="field${error ? ' has-error' : ''}">
    <label for="${name}">${LABELS[name]}</label>
    ${hint ? html`<p class="hint" id="${name}-hint">${hint}</p>` : ''}
    ${error ? html`<p class="field-error" id="${name}-error">${error}</p>` : ''}
    ${control(describedBy, invalid)}
  </div>`;
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} kB`;
  return `${bytes} bytes`;
}
