/**
 * HTML building for the webmail pages: a tagged template that escapes every interpolated
 * value unless it is already markup (SafeHtml). Pages are built from strings on the server,
 * so there is no template engine and nothing to download at run time.
 */

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Value = SafeHtml | string | number | boolean | null | undefined | Value[];

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

/** html`<p>${text}</p>`: strings are escaped, SafeHtml and arrays of it are inserted as is. */
export function html(strings: TemplateStringsArray, ...values: Value[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Markup that is known to be safe (constant strings only). */
export function raw(s: string): SafeHtml {
  return new SafeHtml(s);
}

/** "2026-12-03 13:54 UTC": the server does not know the reader's zone; the page script
 * rewrites <time> elements into local time. */
export function formatTime(ms: number): string {
  const d = new Date(ms).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 16)} UTC`;
}

export function timeTag(ms: number | null): SafeHtml {
  if (ms === null) return raw('');
  return html`<time datetime="${new Date(ms).toISOString()}">${formatTime(ms)}</time>`;
}
