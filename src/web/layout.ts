/**
 * The frame every webmail page shares: language, viewport for phones, the self-served style
 * sheet, a skip link, the navigation and the logout form. Nothing is loaded from elsewhere.
 */
import { html, raw, type SafeHtml } from './html.js';

export interface PageUser {
  address: string;
  csrf: string;
}

export interface LayoutOptions {
  title: string;
  user?: PageUser | null;
  /** Which navigation entry is the current page. */
  current?: 'compose' | 'sent';
  body: SafeHtml;
  scripts?: string[];
}

export function layout(o: LayoutOptions): string {
  const nav = o.user
    ? html`<nav aria-label="Webmail">
        <ul>
          <li><a href="/compose"${o.current === 'compose' ? raw(' aria-current="page"') : ''}>Write a message</a></li>
          <li><a href="/sent"${o.current === 'sent' ? raw(' aria-current="page"') : ''}>Sent messages</a></li>
        </ul>
      </nav>
      <div class="account">
        <span class="who">Logged in as <strong>${o.user.address}</strong></span>
        <form method="post" action="/logout" class="logout">
          <input type="hidden" name="csrf" value="${o.user.csrf}">
          <button type="submit" class="secondary">Log out</button>
        </form>
      </div>`
    : '';
  const scripts = (o.scripts ?? []).map((s) => html`<script src="${s}" defer></script>`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} - Outpost webmail</title>
<link rel="stylesheet" href="/assets/webmail.css">
${scripts}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <p class="brand">Outpost webmail</p>
  ${nav}
</header>
<main id="main" tabindex="-1">
${o.body}
</main>
</body>
</html>
`.value;
}

/** A page that only says something (forbidden form, not found). */
export function messagePage(
  title: string,
  sentence: string,
  link: { href: string; text: string },
  user?: PageUser | null,
): string {
  return layout({
    title,
    user,
    body: html`<h1>${title}</h1>
<p role="alert">${sentence}</p>
<p><a href="${link.href}">${link.text}</a></p>`,
  });
}
