/**
 * Webmail in a real browser: Debian's Chromium driven by playwright-core against the real
 * gateway (`outpost serve`), with real receivers (aiosmtpd) on the MX addresses of
 * d1.example.test and d2.example.test. Fields are found by their visible labels, as a person
 * (or a screen reader) finds them. Screenshots of the compose and sent pages are kept in
 * test-artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freeCommonPort } from '../helpers/ports.js';
import { ARTIFACTS_DIR, trackTempDir } from '../helpers/procs.js';
import { startRecorder, type RecordedMessage, type Recorder } from '../helpers/receivers.js';
import { waitFor } from '../helpers/wait.js';

const USER = 'ann@example.test';
const PASSWORD = 'Webmail test password 1';
/** The standard anti-virus test string; the baseline scanner refuses it. Built at run time. */
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join(
  '',
);

const CHROMIUM_FLAGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('webmail in Chromium', () => {
  let gw: Gateway;
  let d1: Recorder;
  let d2: Recorder;
  let browser: BrowserContext;
  let page: Page;
  let base: string;
  /** Every URL the browser asked for: all must be the gateway's own (or the test's foreign page). */
  const requests: string[] = [];

  before(async () => {
    const port = await freeCommonPort(['127.0.0.31', '127.0.0.32']);
    // bob@d2 is refused once with a 4xx, so the sent page shows a deferral and then, without
    // a reload, the delivery at the next slot of a short schedule.
    [d1, d2] = await Promise.all([
      startRecorder('127.0.0.31', port),
      startRecorder('127.0.0.32', port, {
        rules: [
          {
            match: '^bob@d2\\.example\\.test$',
            code: 451,
            text: '4.2.0 Mailbox busy, try again later',
            times: 1,
          },
        ],
      }),
    ]);
    gw = await startGateway({
      toml: `[delivery]\nport = ${port}\n[retry]\nschedule = ["10s until 1h"]\n`,
    });
    const added = await gw.cli(['user', 'add', USER, '--password-stdin'], PASSWORD);
    assert.equal(added.code, 0, added.stderr);
    base = `http://127.0.0.1:${gw.webPort}`;
    // A fresh, empty profile for every run.
    const profile = trackTempDir(mkdtempSync(path.join(os.tmpdir(), 'outpost-chromium-')));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 390, height: 844 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('request', (r) => requests.push(r.url()));
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    const foreign = requests.filter(
      (u) => !u.startsWith(`${base}/`) && !/^http:\/\/127\.0\.0\.1:\d+\/$/.test(u),
    );
    assert.deepEqual(foreign, [], 'the pages load nothing from elsewhere');
    if (gw) assert.equal(await gw.stop(), 0);
    await Promise.all([d1?.stop(), d2?.stop()]);
  });

  async function logIn(): Promise<void> {
    await page.getByLabel('Email address').fill(USER);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${base}/compose`);
  }

  /** The compose page, logging in first when the session is not there (yet). */
  async function compose(): Promise<void> {
    await page.goto(`${base}/compose`);
    if (new URL(page.url()).pathname === '/login') await logIn();
    assert.equal(new URL(page.url()).pathname, '/compose');
  }

  test('a wrong password shows an error and no session', async () => {
    await page.goto(base);
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.equal(
      await page.locator('meta[name="viewport"]').getAttribute('content'),
      'width=device-width, initial-scale=1',
    );
    await page.getByLabel('Email address').fill(USER);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    const alert = page.getByRole('alert');
    assert.equal((await alert.textContent())?.trim(), 'The email address or password is wrong.');
    assert.equal(await page.getByLabel('Email address').inputValue(), USER);
    assert.equal(new URL(page.url()).pathname, '/login');
  });

  test('logs in, sends to two domains with an attachment, and sees queued then delivered', async () => {
    await compose();
    await page.getByLabel('To', { exact: true }).fill('Ånne Recipient <alice@d1.example.test>');
    await page.getByLabel('Cc', { exact: true }).fill('bob@d2.example.test');
    await page.getByLabel('Bcc', { exact: true }).fill('carol@d1.example.test');
    await page.getByLabel('Subject').fill('Grüße aus dem Webmail ✓');
    await page.getByLabel('Message').fill('Hello Alice,\n\nthe report is attached.\n\nAnn\n');
    const attachment = Buffer.from('name;amount\nÄpfel;3\n', 'utf8');
    await page
      .getByLabel('Attachments')
      .setInputFiles({ name: 'bericht-ä.csv', mimeType: 'text/csv', buffer: attachment });
    // A phone-sized window: nothing sticks out sideways.
    assert.equal(
      await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
      true,
    );
    await page.screenshot({
      path: path.join(ARTIFACTS_DIR, 'webmail-compose.png'),
      fullPage: true,
    });
    await page.getByRole('button', { name: 'Send' }).click();

    await page.waitForURL(/\/sent\?queued=/);
    const qid = new URL(page.url()).searchParams.get('queued')!;
    const status = await page.getByRole('status').first().textContent();
    assert.match(status ?? '', new RegExp(`queued as ${qid}`));
    const rows = page.locator(`#m-${qid} tbody tr`);
    assert.deepEqual(await rows.locator('th').allTextContents(), [
      'alice@d1.example.test',
      'bob@d2.example.test',
      'carol@d1.example.test',
    ]);
    for (const s of await rows.locator('.badge').allTextContents())
      assert.match(s, /^(queued|delivered)$/);

    // The page updates by itself: no reload from here on (the marker would be gone).
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    const bob = rows.filter({ hasText: 'bob@d2.example.test' });
    await bob.locator('.badge', { hasText: 'deferred' }).waitFor({ timeout: 20_000 });
    const deferred = (await bob.locator('td.detail').textContent()) ?? '';
    assert.match(
      deferred,
      /Last reply from mx\.d2\.example\.test: .*451 4\.2\.0 Mailbox busy, try again later/,
    );
    assert.match(deferred, /Next attempt \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$/);
    for (const addr of ['alice@d1.example.test', 'bob@d2.example.test', 'carol@d1.example.test']) {
      await rows
        .filter({ hasText: addr })
        .locator('.badge', { hasText: 'delivered' })
        .waitFor({ timeout: 30_000 });
    }
    assert.match(
      (await rows.filter({ hasText: 'bob@d2.example.test' }).locator('td.detail').textContent()) ??
        '',
      /^Delivered \d{4}-\d\d-\d\d \d\d:\d\d UTC/,
    );
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 1);
    assert.match(
      (await page.locator('#live').textContent()) ?? '',
      /bob@d2\.example\.test: delivered\./,
    );
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'webmail-sent.png'), fullPage: true });

    const [m1] = await d1.waitForMessages(1);
    const [m2] = await d2.waitForMessages(1);
    assert.equal(m1!.from, USER);
    assert.deepEqual([...m1!.to].sort(), ['alice@d1.example.test', 'carol@d1.example.test']);
    assert.deepEqual(m2!.to, ['bob@d2.example.test']);
    for (const m of [m1!, m2!]) await checkReceived(m, attachment);
  });

  test('a message with the EICAR string is refused on the page and the form is kept', async () => {
    await compose();
    const before = accepted(gw);
    await page.getByLabel('To', { exact: true }).fill('alice@d1.example.test');
    await page.getByLabel('Subject').fill('Virus test');
    await page.getByLabel('Message').fill(EICAR);
    await page
      .getByLabel('Attachments')
      .setInputFiles({ name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('x') });
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForLoadState();
    const alert = (await page.getByRole('alert').textContent()) ?? '';
    assert.match(alert, /The message was not sent/);
    assert.match(alert, /The gateway answered: 554 5\.7\.1 /);
    assert.match(alert, /Attachments are not kept: select them again/);
    await page.screenshot({
      path: path.join(ARTIFACTS_DIR, 'webmail-refused.png'),
      fullPage: true,
    });
    assert.equal(
      await page.getByLabel('To', { exact: true }).inputValue(),
      'alice@d1.example.test',
    );
    assert.equal(await page.getByLabel('Subject').inputValue(), 'Virus test');
    assert.equal(await page.getByLabel('Message').inputValue(), EICAR);
    assert.equal(accepted(gw), before);
  });

  test('CR LF and a second header in the Subject do not add a header', async () => {
    await compose();
    // A text input drops line breaks itself, so the form is posted by a script in the page,
    // as a forged or scripted request would be, with the page's own token.
    const location = await page.evaluate(async () => {
      const form = document.querySelector('form.compose') as HTMLFormElement;
      const fd = new FormData(form);
      fd.set('to', 'alice@d1.example.test');
      fd.set('subject', 'Line one\r\nX-Injected: yes');
      fd.set('message', 'injection test');
      const res = await fetch('/compose', { method: 'POST', body: fd });
      return res.url;
    });
    const qid = new URL(location).searchParams.get('queued');
    assert.ok(qid, `not queued: ${location}`);
    let raw: RecordedMessage | undefined;
    await waitFor(
      async () => {
        raw = (await d1.messages()).find((m) =>
          m.data.includes('Subject: Line one X-Injected: yes'),
        );
        return raw !== undefined;
      },
      { timeout: 30_000, what: 'the message at the receiver of d1.example.test' },
    );
    assert.ok(raw);
    const head = raw.data.toString('latin1').split('\r\n\r\n')[0]!;
    assert.equal(/^X-Injected:/im.test(head), false, head);
    const parsed = await simpleParser(raw.data);
    assert.equal(parsed.subject, 'Line one X-Injected: yes');
    assert.equal(parsed.headers.has('x-injected'), false);
  });

  test('a form posted from a page on another origin is refused and sends nothing', async () => {
    await compose();
    const before = accepted(gw);
    const evil = await serveForeignForm(`${base}/compose`);
    try {
      await page.goto(evil.url);
      await page.waitForURL(`${base}/compose`);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Form refused');
      assert.match((await page.getByRole('alert').textContent()) ?? '', /Nothing was sent/);
    } finally {
      await evil.close();
    }

    // The same from a script: the session cookie, a foreign Origin, no token.
    const cookies = await browser.cookies(base);
    const fd = new FormData();
    fd.set('to', 'alice@d1.example.test');
    fd.set('subject', 'forged');
    fd.set('message', 'forged');
    const res = await fetch(`${base}/compose`, {
      method: 'POST',
      body: fd,
      headers: {
        origin: 'http://evil.example.test',
        cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; '),
      },
      redirect: 'manual',
    });
    assert.equal(res.status, 403);
    assert.equal(accepted(gw), before);
  });
});

/** How many messages the gateway has queued so far (its "accepted" log lines). */
function accepted(gw: Gateway): number {
  return gw.logs.filter((l) => l.event === 'accepted').length;
}

/** Headers and attachment of a message as the receiver got it. */
async function checkReceived(m: RecordedMessage, attachment: Buffer): Promise<void> {
  const parsed = await simpleParser(m.data);
  assert.equal(parsed.subject, 'Grüße aus dem Webmail ✓');
  assert.equal(parsed.from?.text, USER);
  const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
  assert.deepEqual(to?.value, [{ address: 'alice@d1.example.test', name: 'Ånne Recipient' }]);
  const cc = Array.isArray(parsed.cc) ? parsed.cc[0] : parsed.cc;
  assert.deepEqual(
    cc?.value.map((v) => v.address),
    ['bob@d2.example.test'],
  );
  assert.equal(parsed.headers.has('bcc'), false);
  assert.equal(m.data.includes('carol@'), false, 'the Bcc address appears in the message');
  assert.ok(parsed.messageId);
  assert.ok(parsed.date);
  assert.equal(parsed.text, 'Hello Alice,\n\nthe report is attached.\n\nAnn\n');
  assert.equal(parsed.attachments.length, 1);
  assert.equal(parsed.attachments[0]!.filename, 'bericht-ä.csv');
  assert.equal(parsed.attachments[0]!.contentType, 'text/csv');
  assert.deepEqual(parsed.attachments[0]!.content, attachment);
  // RFC 2047: no raw 8-bit bytes in the header section.
  const head = m.data.subarray(0, m.data.indexOf('\r\n\r\n'));
  assert.equal(
    [...head].some((b) => b > 0x7e),
    false,
  );
}

/** A page on another origin (another port) whose form posts itself to the webmail at once. */
async function serveForeignForm(
  target: string,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><html lang="en"><body>
<form method="post" action="${target}" enctype="multipart/form-data">
<input name="csrf" value="guessed"><input name="to" value="alice@d1.example.test">
<input name="subject" value="forged"><textarea name="message">forged</textarea></form>
<script>document.forms[0].submit()</script></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
