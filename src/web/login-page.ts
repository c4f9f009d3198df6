/** The login page: mailbox address and password, the same credentials as SMTP AUTH. */
import { html } from './html.js';
import { layout } from './layout.js';

export interface LoginView {
  csrf: string;
  email?: string;
  error?: string;
  notice?: string;
}

export function loginPage(v: LoginView): string {
  const err = v.error
    ? html`<div class="alert error" role="alert" id="login-error">
  <p>${v.error}</p>
</div>`
    : '';
  const notice = v.notice ? html`<p class="alert info" role="status">${v.notice}</p>` : '';
  const described = v.error ? html` aria-describedby="login-error" aria-invalid="true"` : '';
  return layout({
    title: 'Log in',
    body: html`<h1>Log in</h1>
<p>Log in with your mailbox address and password, the same ones your email program uses.</p>
${notice}${err}
<form method="post" action="/login" class="card">
  <input type="hidden" name="csrf" value="${v.csrf}">
  <div class="field">
    <label for="email">Email address</label>
    <input id="email" name="email" type="email" autocomplete="username" spellcheck="false"
      autocapitalize="none" required value="${v.email ?? ''}"${described}>
  </div>
  <div class="field">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required${described}>
  </div>
  <button type="submit">Log in</button>
</form>`,
  });
}
