/**
 * The admin pages in-process (fastify inject, no browser): only operator accounts log in, a
 * webmail session never opens /admin, the session cookie is the admin's own and only for
 * /admin, forms without the session's token or from another origin change nothing, failed
 * logins are throttled apart from the mailbox logins, deleting an operator ends their session,
 * and /metrics answers only web.metrics_from. The browser test covers the pages themselves.
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

const ADMIN = 'op@example.test';
const ADMIN_PW = 'operator password 1';
const USER = 'ann@example.test';
const USER_PW = 'mailbox password 1';

/** Cookie jar of one browser: name -> value, from Set-Cookie headers (paths ignored). */
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

describe('admin app', () => {
  let ctx: AppContext;
  let app: FastifyInstance;

  before(async () => {
    const dir = trackTempDir(mkdtempSync(path.join(os.tmpdir(), 'outpost-admin-')));
    const cfg = validateConfig(
      {
        hostname: 'outpost.example.test',
        node_id: 'admin-app',
        data_dir: dir,
        dns: { servers: [TEST_DNS] },
        auth: { max_failures: 3, failure_delay: '0s', lockout: '15m' },
        scan: { baseline: { enabled: false } },
        web: { metrics_from: ['127.0.0.1/32'] },
      },
      null,
    );
    ctx = await buildApp(cfg);
    await ctx.store.addAdmin(ADMIN, await hashPassword(ADMIN_PW));
    await ctx.store.addAccount(USER, await hashPassword(USER_PW));
    app = await buildWebApp(webDeps(ctx));
  });

  after(async () => {
    await app.close();
    await ctx.store.close();
  });

  async function adminLogin(jar: Jar, email: string, password: string, ip = '127.0.0.1') {
    const page = await app.inject({ method: 'GET', url: '/admin/login', remoteAddress: ip, headers: { cookie: jar.header() } });
    assert.equal(page.statusCode, 200);
    jar.take(page);
    const res = await app.inject({
      method: 'POST',
      url: '/admin/login',
      remoteAddress: ip,
      headers: { cookie: jar.header(), 'sec-fetch-site': 'same-origin' },
      payload: { email, password, csrf: hiddenToken(page.body) },
    });
    jar.take(res);
    return res;
  }

  async function mailboxLogin(jar: Jar, ip = '127.0.0.1') {
    const page = await app.inject({ method: 'GET', url: '/login', remoteAddress: ip });
    jar.take(page);
    const res = await app.inject({
      method: 'POST',
      url: '/login',
      remoteAddress: ip,
      headers: { cookie: jar.header(), 'sec-fetch-site': 'same-origin' },
      payload: { email: USER, password: USER_PW, csrf: hiddenToken(page.body) },
    });
    jar.take(res);
    return res;
  }

  test('pages need an operator session', async () => {
    for (const url of ['/admin', '/admin/queue', '/admin/queue/X', '/admin/blocks']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 303, url);
      assert.equal(res.headers.location, '/admin/login');
    }
  });

  test('an operator logs in; the cookie is HttpOnly, SameSite=Strict and only for /admin', async () => {
    const jar = new Jar();
    const res = await adminLogin(jar, 'OP@example.test', ADMIN_PW);
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/admin');
    const cookie = (res.cookies as any[]).find((c) => c.name === 'outpost_admin');
    assert.ok(cookie, 'admin session cookie set');
    assert.equal(cookie.path, '/admin');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal((res.cookies as any[]).some((c) => c.name === 'outpost_session'), false);
    const page = await app.inject({ method: 'GET', url: '/admin', headers: { cookie: jar.header() } });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Operator <strong>op@example\.test<\/strong>/);
    // The operator's session is not a webmail session.
    const mail = await app.inject({ method: 'GET', url: '/compose', headers: { cookie: jar.header() } });
    assert.equal(mail.statusCode, 303);
    assert.equal(mail.headers.location, '/login');
  });

  test('a mailbox account cannot log in, and its webmail session does not open /admin', async () => {
    const jar = new Jar();
    const res = await adminLogin(jar, USER, USER_PW, '192.0.2.10');
    assert.equal(res.statusCode, 401);
    assert.match(res.body, /The email address or password is wrong\./);
    assert.equal(jar.values.has('outpost_admin'), false);

    const mail = new Jar();
    assert.equal((await mailboxLogin(mail, '192.0.2.11')).statusCode, 303);
    const id = mail.values.get('outpost_session')!;
    for (const cookie of [`outpost_session=${id}`, `outpost_admin=${id}`]) {
      const page = await app.inject({ method: 'GET', url: '/admin', headers: { cookie } });
      assert.equal(page.statusCode, 303, cookie.split('=')[0]);
      assert.equal(page.headers.location, '/admin/login');
    }
    // ... and trying it did not end the webmail session.
    const compose = await app.inject({ method: 'GET', url: '/compose', headers: { cookie: `outpost_session=${id}` } });
    assert.equal(compose.statusCode, 200);
  });

  test('actions without the token or from another site change nothing', async () => {
    const jar = new Jar();
    await adminLogin(jar, ADMIN, ADMIN_PW);
    await ctx.store.addBlock({ principal: 'ip:192.0.2.99', reason: 'test', since: Date.now(), counts: {} });
    const page = await app.inject({ method: 'GET', url: '/admin/blocks', headers: { cookie: jar.header() } });
    const csrf = hiddenToken(page.body);
    const lift = (headers: Record<string, string>, payload: Record<string, string>) =>
      app.inject({ method: 'POST', url: '/admin/blocks/lift', headers: { cookie: jar.header(), ...headers }, payload });

    const noToken = await lift({}, { principal: 'ip:192.0.2.99' });
    assert.equal(noToken.statusCode, 403);
    assert.match(noToken.body, /Nothing was done/);
    const wrong = await lift({}, { principal: 'ip:192.0.2.99', csrf: 'x'.repeat(43) });
    assert.equal(wrong.statusCode, 403);
    const foreign = await lift(
      { origin: 'http://evil.example.test', 'sec-fetch-site': 'cross-site' },
      { principal: 'ip:192.0.2.99', csrf },
    );
    assert.equal(foreign.statusCode, 403);
    assert.ok(await ctx.store.getBlock('ip:192.0.2.99'));

    const ok = await lift({ 'sec-fetch-site': 'same-origin' }, { principal: 'ip:192.0.2.99', csrf });
    assert.equal(ok.statusCode, 303);
    assert.equal(ok.headers.location, '/admin/blocks?lifted=ip%3A192.0.2.99');
    assert.equal(await ctx.store.getBlock('ip:192.0.2.99'), null);
  });

  test('delete with a failure notice: the message goes, a notice to its sender is queued', async () => {
    const jar = new Jar();
    await adminLogin(jar, ADMIN, ADMIN_PW, '203.0.113.20');
    await ctx.store.insertMessage({
      id: 'ADMINDEL1',
      sender: 'ann@example.test',
      recipients: [{ address: 'bob@d.example.test' }],
      body: Buffer.from('Subject: to delete\r\n\r\nhello\r\n'),
      created: Date.now(),
      principal: 'ip:127.0.0.1',
      smtputf8: false,
      eightBit: false,
      kind: 'message',
    });
    const confirm = await app.inject({ method: 'GET', url: '/admin/queue/ADMINDEL1/delete', headers: { cookie: jar.header() } });
    assert.equal(confirm.statusCode, 200);
    assert.match(confirm.body, /Delete message <code>ADMINDEL1<\/code>\?/);
    const res = await app.inject({
      method: 'POST',
      url: '/admin/queue/ADMINDEL1/delete',
      headers: { cookie: jar.header() },
      payload: { csrf: hiddenToken(confirm.body), bounce: '1' },
    });
    assert.equal(res.statusCode, 303);
    const location = new URL(String(res.headers.location), 'http://x');
    assert.equal(location.pathname, '/admin/queue');
    assert.equal(location.searchParams.get('deleted'), 'ADMINDEL1');
    const noticeId = location.searchParams.get('notice')!;
    assert.equal(await ctx.store.getMessage('ADMINDEL1'), null);
    const notice = await ctx.store.getMessage(noticeId);
    assert.equal(notice?.kind, 'notice');
    assert.equal(notice?.sender, '');
    assert.deepEqual(notice?.recipients.map((r) => r.address), ['ann@example.test']);
    const page = await app.inject({ method: 'GET', url: String(res.headers.location), headers: { cookie: jar.header() } });
    assert.match(page.body, new RegExp(`Message ADMINDEL1 deleted\\. Failure notice ${noticeId} queued for the sender\\.`));
  });

  test('failed operator logins lock the operator out, not the mailbox of the same address', async () => {
    await ctx.store.addAccount(ADMIN, await hashPassword('the mailbox of the operator'));
    for (let i = 1; i <= 3; i++) {
      const res = await adminLogin(new Jar(), ADMIN, 'wrong', `198.51.100.${i}`);
      assert.equal(res.statusCode, 401);
    }
    const locked = await adminLogin(new Jar(), ADMIN, ADMIN_PW, '198.51.100.9');
    assert.equal(locked.statusCode, 429);
    assert.match(locked.body, /Too many failed logins for this account/);

    const page = await app.inject({ method: 'GET', url: '/login', remoteAddress: '198.51.100.10' });
    const jar = new Jar();
    jar.take(page);
    const mail = await app.inject({
      method: 'POST',
      url: '/login',
      remoteAddress: '198.51.100.10',
      headers: { cookie: jar.header() },
      payload: { email: ADMIN, password: 'the mailbox of the operator', csrf: hiddenToken(page.body) },
    });
    assert.equal(mail.statusCode, 303);
    assert.equal(mail.headers.location, '/compose');
  });

  test("deleting an operator or changing the password ends the operator's sessions", async () => {
    await ctx.store.addAdmin('temp@example.test', await hashPassword('temp password 1'));
    const jar = new Jar();
    assert.equal((await adminLogin(jar, 'temp@example.test', 'temp password 1', '203.0.113.1')).statusCode, 303);
    const open = () => app.inject({ method: 'GET', url: '/admin/queue', headers: { cookie: jar.header() } });
    assert.equal((await open()).statusCode, 200);
    await ctx.store.setAdminPassword('temp@example.test', await hashPassword('temp password 2'));
    assert.equal((await open()).statusCode, 303);

    assert.equal((await adminLogin(jar, 'temp@example.test', 'temp password 2', '203.0.113.1')).statusCode, 303);
    assert.equal((await open()).statusCode, 200);
    await ctx.store.deleteAdmin('temp@example.test');
    assert.equal((await open()).statusCode, 303);
  });

  test('logout ends the session', async () => {
    // Another operator: the first one is locked out by the throttle test above.
    await ctx.store.addAdmin('out@example.test', await hashPassword('out password 1'));
    const jar = new Jar();
    await adminLogin(jar, 'out@example.test', 'out password 1', '203.0.113.5');
    const page = await app.inject({ method: 'GET', url: '/admin', headers: { cookie: jar.header() } });
    const cookie = jar.header();
    const out = await app.inject({
      method: 'POST',
      url: '/admin/logout',
      headers: { cookie },
      payload: { csrf: hiddenToken(page.body) },
    });
    assert.equal(out.statusCode, 303);
    assert.equal(out.headers.location, '/admin/login?out=1');
    const again = await app.inject({ method: 'GET', url: '/admin', headers: { cookie } });
    assert.equal(again.statusCode, 303);
  });

  test('/metrics answers web.metrics_from only', async () => {
    const inside = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' });
    assert.equal(inside.statusCode, 200);
    // The failure notice queued by the delete test above is the one message in the store.
    assert.match(inside.body, /^outpost_queue_messages 1$/m);
    assert.match(inside.body, /^outpost_queue_recipients\{state="queued"\} 1$/m);
    assert.match(inside.body, /^outpost_blocks 0$/m);
    const outside = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '192.0.2.50' });
    assert.equal(outside.statusCode, 403);
    assert.equal(outside.body, 'Forbidden: /metrics answers only addresses in web.metrics_from.\n');
  });

  test('the admin style sheet is served by the gateway', async () => {
    const css = await app.inject({ method: 'GET', url: '/admin/assets/admin.css' });
    assert.equal(css.statusCode, 200);
    assert.match(String(css.headers['content-type']), /^text\/css/);
    assert.match(css.body, /\.chart \.bar/);
  });
});
