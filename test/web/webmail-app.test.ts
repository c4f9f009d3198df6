/**
 * The webmail app in-process (fastify inject, no browser): login and its throttle, cookie
 * flags with and without a trusted proxy, CSRF refusals, header injection through the
 * subject, Bcc kept out of the headers, session expiry. The browser test covers the pages
 * as a person uses them; this one covers what a browser would never send.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app-build.js';
import type { AppContext } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import { hashPassword } from '../../src/policy/auth.js';
import { buildWebApp, webDeps } from '../../src/web/server.js';
import { TEST_DNS } from '../helpers/dns.js';
import { trackTempDir } from '../helpers/procs.js';

const USER = 'ann@example.test';
const PASSWORD = 'correct horse battery staple';

interface Harness {
  ctx: AppContext;
  app: FastifyInstance;
  clock: { offset: number };
}

async function harness(web: Record<string, unknown> = {}): Promise<Harness> {
  const dir = trackTempDir(mkdtempSync(path.join(os.tmpdir(), 'outpost-web-')));
  const cfg = validateConfig(
    {
      hostname: 'outpost.example.test',
      data_dir: dir,
      dns: { servers: [TEST_DNS] },
      auth: { max_failures: 3, failure_delay: '0s', lockout: '15m' },
      scan: { baseline: { enabled: false } },
      web,
    },
    null,
  );
  const ctx = await buildApp(cfg);
  const clock = { offset: 0 };
  ctx.now = () => Date.now() + clock.offset;
  await ctx.store.addAccount(USER, await hashPassword(PASSWORD));
  return { ctx, app: await buildWebApp(webDeps(ctx)), clock };
}

/** Cookie jar of one browser: name -> value, from Set-Cookie headers. */
class Jar {
  values = new Map<string, string>();
  take(res: LightMyRequestResponse): void {
    for (const c of res.cookies as Array<{ name: string; value: string; maxAge?: number }>) {
      if (c.value === '' || c.maxAge === 0) this.values.delete(c.name);
      else this.values.set(c.name, c.value);
    }
  }
  header(): string {
    return [...this.values].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

function hiddenToken(page: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(page);
  assert.ok(m, 'page has a CSRF token');
  return m[1]!;
}

async function login(
  h: Harness,
  jar: Jar,
  password = PASSWORD,
  headers: Record<string, string> = {},
) {
  const page = await h.app.inject({
    method: 'GET',
    url: '/login',
    headers: { cookie: jar.header(), ...headers },
  });
  jar.take(page);
  const res = await h.app.inject({
    method: 'POST',
    url: '/login',
    headers: { cookie: jar.header(), 'sec-fetch-site': 'same-origin', ...headers },
    payload: { email: USER, password, csrf: hiddenToken(page.body) },
  });
  jar.take(res);
  return res;
}

async function multipart(fields: Record<string, string>): Promise<{ body: Buffer; type: string }> {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append('attachments', new Blob([]), '');
  const r = new Response(fd);
  return { body: Buffer.from(await r.arrayBuffer()), type: r.headers.get('content-type')! };
}

async function compose(
  h: Harness,
  jar: Jar,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) {
  const page = await h.app.inject({
    method: 'GET',
    url: '/compose',
    headers: { cookie: jar.header() },
  });
  const { body, type } = await multipart({ csrf: hiddenToken(page.body), ...fields });
  return h.app.inject({
    method: 'POST',
    url: '/compose',
    headers: {
      cookie: jar.header(),
      'content-type': type,
      origin: 'http://localhost:80',
      host: 'localhost:80',
      ...headers,
    },
    payload: body,
  });
}

describe('webmail app', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(async () => {
    await h.app.close();
    await h.ctx.store.close();
  });

  test('login sets a HttpOnly SameSite=Strict session cookie, not Secure over plain HTTP', async () => {
    const jar = new Jar();
    const res = await login(h, jar);
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/compose');
    const cookie = (res.cookies as any[]).find((c) => c.name === 'outpost_session');
    assert.ok(cookie, 'session cookie set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.secure, undefined);
    const page = await h.app.inject({
      method: 'GET',
      url: '/compose',
      headers: { cookie: jar.header() },
    });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Logged in as <strong>ann@example\.test<\/strong>/);
  });

  test('X-Forwarded-Proto from an untrusted peer does not make the cookie Secure', async () => {
    const res = await login(h, new Jar(), PASSWORD, { 'x-forwarded-proto': 'https' });
    const cookie = (res.cookies as any[]).find((c) => c.name === 'outpost_session');
    assert.equal(cookie.secure, undefined);
  });

  test('a wrong password is refused with a message and no session', async () => {
    const jar = new Jar();
    const res = await login(h, jar, 'wrong', { 'x-forwarded-for': '192.0.2.1' });
    assert.equal(res.statusCode, 401);
    assert.match(res.body, /The email address or password is wrong\./);
    assert.equal(jar.values.has('outpost_session'), false);
  });

  test('a login POST without the form token is refused', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/login',
      payload: { email: USER, password: PASSWORD },
    });
    assert.equal(res.statusCode, 403);
    assert.equal(
      (res.cookies as any[]).some((c) => c.name === 'outpost_session'),
      false,
    );
  });

  test('a compose POST from a foreign origin or without the token is refused and queues nothing', async () => {
    const jar = new Jar();
    await login(h, jar);
    const before = (await h.ctx.store.listMessages({ authUser: USER })).length;
    const fields = { to: 'bob@example.net', subject: 'csrf', message: 'x' };
    const foreign = await compose(h, jar, fields, {
      origin: 'http://evil.example.test:8081',
      'sec-fetch-site': 'cross-site',
    });
    assert.equal(foreign.statusCode, 403);
    assert.match(foreign.body, /Nothing was sent/);
    const { body, type } = await multipart(fields);
    const noToken = await h.app.inject({
      method: 'POST',
      url: '/compose',
      headers: { cookie: jar.header(), 'content-type': type },
      payload: body,
    });
    assert.equal(noToken.statusCode, 403);
    assert.equal((await h.ctx.store.listMessages({ authUser: USER })).length, before);
  });

  test('CR LF in the subject cannot add a header; Bcc is in the envelope only', async () => {
    const jar = new Jar();
    await login(h, jar);
    const res = await compose(h, jar, {
      to: 'Jörg Test <bob@example.net>',
      bcc: 'carol@example.net',
      subject: 'Grüße\r\nX-Injected: yes',
      message: 'hello',
    });
    assert.equal(res.statusCode, 303, res.body);
    const qid = /queued=([^&]+)/.exec(res.headers.location as string)![1]!;
    const msg = (await h.ctx.store.getMessage(qid))!;
    assert.equal(msg.sender, USER);
    assert.deepEqual(
      msg.recipients.map((r) => r.address),
      ['bob@example.net', 'carol@example.net'],
    );
    const text = (await h.ctx.store.readBody(qid))!.toString('latin1');
    const head = text.slice(0, text.indexOf('\r\n\r\n'));
    assert.equal(/^X-Injected:/im.test(head), false, head);
    assert.equal(/^Bcc:/im.test(head), false, head);
    assert.match(head, /^Subject: =\?UTF-8\?Q\?Gr=C3=BC=C3=9Fe_X-Injected=3A_yes\?=$/m);
    assert.match(head, /^To: =\?UTF-8\?Q\?J=C3=B6rg_Test\?= <bob@example\.net>$/m);
  });

  test('CR LF in an address field is refused on the page, with the field marked', async () => {
    const jar = new Jar();
    await login(h, jar);
    const res = await compose(h, jar, {
      to: 'bob@example.net\r\nBcc: eve@example.net',
      subject: 'kept',
      message: 'kept text',
    });
    assert.equal(res.statusCode, 422);
    assert.match(res.body, /id="to-error">Line breaks are not allowed here/);
    assert.match(res.body, /aria-invalid="true"/);
    assert.match(res.body, /<textarea[^>]*>kept text<\/textarea>/);
  });

  test('an invalid address is named in the error and the form is refilled', async () => {
    const jar = new Jar();
    await login(h, jar);
    const res = await compose(h, jar, {
      to: 'bob@example.net, not-an-address',
      cc: 'x@example.net',
      subject: 'Hi',
      message: 'body',
    });
    assert.equal(res.statusCode, 422);
    assert.match(res.body, /&quot;not-an-address&quot; is not a valid email address\./);
    assert.match(res.body, /id="cc" name="cc" type="text" value="x@example\.net"/);
  });

  test("the sent API lists the mailbox's messages with recipient states", async () => {
    const jar = new Jar();
    await login(h, jar);
    const res = await h.app.inject({
      method: 'GET',
      url: '/api/sent',
      headers: { cookie: jar.header() },
    });
    assert.equal(res.statusCode, 200);
    const data = res.json() as {
      messages: Array<{ subject: string; recipients: Array<{ state: string }> }>;
    };
    const m = data.messages.find((x) => x.subject === 'Grüße X-Injected: yes');
    assert.ok(m);
    assert.deepEqual(
      m.recipients.map((r) => r.state),
      ['queued', 'queued'],
    );
    const anon = await h.app.inject({ method: 'GET', url: '/api/sent' });
    assert.equal(anon.statusCode, 401);
  });

  test('logout ends the session in the store', async () => {
    const jar = new Jar();
    await login(h, jar);
    const old = jar.header();
    const page = await h.app.inject({ method: 'GET', url: '/compose', headers: { cookie: old } });
    const res = await h.app.inject({
      method: 'POST',
      url: '/logout',
      headers: { cookie: old },
      payload: { csrf: hiddenToken(page.body) },
    });
    assert.equal(res.statusCode, 303);
    const after = await h.app.inject({ method: 'GET', url: '/compose', headers: { cookie: old } });
    assert.equal(after.statusCode, 303);
    assert.equal(after.headers.location, '/login');
  });

  test('a password change ends the sessions opened with the old one', async () => {
    const jar = new Jar();
    await login(h, jar);
    const ok = await h.app.inject({
      method: 'GET',
      url: '/compose',
      headers: { cookie: jar.header() },
    });
    assert.equal(ok.statusCode, 200);
    await h.ctx.store.setPassword(USER, await hashPassword('a new password'));
    try {
      const res = await h.app.inject({
        method: 'GET',
        url: '/compose',
        headers: { cookie: jar.header() },
      });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/login');
    } finally {
      await h.ctx.store.setPassword(USER, await hashPassword(PASSWORD));
    }
  });

  test('sessions expire after web.session_ttl', async () => {
    const jar = new Jar();
    await login(h, jar);
    h.clock.offset = h.ctx.cfg.web.session_ttl + 1000;
    try {
      const res = await h.app.inject({
        method: 'GET',
        url: '/compose',
        headers: { cookie: jar.header() },
      });
      assert.equal(res.statusCode, 303);
    } finally {
      h.clock.offset = 0;
    }
  });
});

describe('webmail login throttle and proxies', () => {
  test('after auth.max_failures the address is refused even with the right password', async () => {
    const h = await harness({ trusted_proxies: ['127.0.0.1/32'] });
    try {
      const from = { 'x-forwarded-for': '198.51.100.7' };
      for (let i = 0; i < 3; i++)
        assert.equal((await login(h, new Jar(), 'wrong', from)).statusCode, 401);
      const locked = await login(h, new Jar(), PASSWORD, from);
      assert.equal(locked.statusCode, 429);
      assert.match(locked.body, /Too many failed logins/);
      // The mailbox is locked too (3 failures): another address is refused for it.
      const other = await login(h, new Jar(), PASSWORD, { 'x-forwarded-for': '198.51.100.8' });
      assert.equal(other.statusCode, 429);
    } finally {
      await h.app.close();
      await h.ctx.store.close();
    }
  });

  test('behind a trusted proxy, X-Forwarded-Proto https makes the cookie Secure', async () => {
    const h = await harness({ trusted_proxies: ['127.0.0.1/32'] });
    try {
      const res = await login(h, new Jar(), PASSWORD, {
        'x-forwarded-proto': 'https',
        'x-forwarded-for': '203.0.113.5',
      });
      assert.equal(res.statusCode, 303);
      const cookie = (res.cookies as any[]).find((c) => c.name === 'outpost_session');
      assert.equal(cookie.secure, true);
    } finally {
      await h.app.close();
      await h.ctx.store.close();
    }
  });
});
