/**
 * The frame of every admin page: the webmail's base style sheet plus the admin's own, a skip
 * link, the navigation (overview, queue, blocks) and the logout form. Nothing is loaded from
 * elsewhere and no script runs: every page is complete as the server sends it.
 */
import { html, raw, type SafeHtml } from '../html.js';

export interface AdminUser {
  address: string;
  csrf: string;
}

export type AdminSection = 'overview' | 'queue' | 'blocks';

export interface AdminLayoutOptions {
  title: string;
  user?: AdminUser | null;
  current?: AdminSection;
  body: SafeHtml;
}

const SECTIONS: Array<[AdminSection, string, string]> = [
  ['overview', '/admin', 'Overview'],
  ['queue', '/admin/queue', 'Queue'],
  ['blocks', '/admin/blocks', 'Blocks'],
];

export function adminLayout(o: AdminLayoutOptions): string {
  const nav = o.user
    ? html`<nav aria-label="Admin">
        <ul>
          ${SECTIONS.map(
            ([id, href, text]) =>
              html`<li><a href="${href}"${o.current === id ? raw(' aria-current="page"') : ''}>${text}</a></li>`,
          )}
        </ul>
      </nav>
      <div class="account">
        <span class="who">Operator <strong>${o.user.address}</strong></span>
        <form method="post" action="/admin/logout" class="logout">
          <input type="hidden" name="csrf" value="${o.user.csrf}">
          <button type="submit" class="secondary">Log out</button>
        </form>
      </div>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} - Outpost admin</title>
<link rel="stylesheet" href="/assets/webmail.css">
<link rel="stylesheet" href="/admin/assets/admin.css">
</head>
<body class="admin">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <p class="brand">Outpost admin</p>
  ${nav}
</header>
<main id="main" tabindex="-1">
${o.body}
</main>
</body>
</html>
`.value;
}

/** A page that only says something (not found, refused form). */
export function adminMessagePage(
  title: string,
  sentence: string,
  link: { href: string; text: string },
  user?: AdminUser | null,
): string {
  return adminLayout({
    title,
    user,
    body: html`<h1>${title}</h1>
<p role="alert">${sentence}</p>
<p><a href="${link.href}">${link.text}</a></p>`,
  });
}

/** "2026-12-03 13:54:07 UTC": operators compare times with logs, to the second. */
export function timeSec(ms: number | null): SafeHtml | '' {
  if (ms === null || Number.isNaN(ms)) return '';
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC</time>`;
}

/** A table's header row, one column header per entry. */
export function headRow(names: Array<string | SafeHtml>): SafeHtml {
  return html`<thead><tr>${names.map((n) => html`<th scope="col">${n}</th>`)}</tr></thead>`;
}

/** "3 recipients", "1 message". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** "4m", "3h 12m", "2d 5h": an age for a person. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
