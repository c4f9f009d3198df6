/**
 * The admin pages in a real browser: Debian's Chromium driven by playwright-core against the
 * real gateway (`outpost serve`), real receivers (aiosmtpd) on d17 (one recipient always
 * answered 451) and d18, messages from swaks, an operator and a block made with the CLI.
 * Elements are found by their labels and roles, as a person or a screen reader finds them.
 * A screenshot of the queue is kept as test-artifacts/admin-queue.png.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freeCommonPort } from '../helpers/ports.js';
import { ARTIFACTS_DIR, trackTempDir } from '../helpers/procs.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { swaks } from '../helpers/swaks.js';
import { waitFor } from '../helpers/wait.js';

const ADMIN = 'op@example.test';
const ADMIN_PW = 'Operator test password 1';
const USER = 'ann@example.test';
const USER_PW = 'Mailbox test password 1';

const CHROMIUM_FLAGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('admin pages in Chromium', () => {
  let gw: Gateway;
  let d17: Recorder;
  let d18: Recorder;
  let browser: BrowserContext;
  let page: Page;
  let base: string;
  /** m1: ok@d18 delivered, slow@d17 deferred. m2: dave@d18 delivered, from another sender. */
  let m1: string;
  let m2: string;
  const requests: string[] = [];
  const attempts = () => gw.logs.filter((l) => l.event === 'attempt');

  before(async () => {
    const port = await freeCommonPort(['127.0.0.47', '127.0.0.48']);
    [d17, d18] = await Promise.all([
      startRecorder('127.0.0.47', port, {
        rules: [{ match: '^slow@d17\\.example\\.test$', code: 451, text: '4.2.1 Come back later' }],
      }),
      startRecorder('127.0.0.48', port),
    ]);
    gw = await startGateway({
      toml: `node_id = "admin-ui"\n[delivery]\nport = ${port}\n[retry]\nschedule = ["1h until 1d"]\n`,
    });
    for (const [args, input] of [
      [['admin', 'add', ADMIN, '--password-stdin'], ADMIN_PW],
      [['user', 'add', USER, '--password-stdin'], USER_PW],
      [['block', 'add', 'ip:192.0.2.77', '--reason', 'abuse report'], ''],
    ] as const) {
      const r = await gw.cli([...args], input);
      assert.equal(r.code, 0, r.stderr);
    }
    const server = ['--server', `127.0.0.1:${gw.submissionPort}`];
    const r1 = await swaks([...server, '--from', USER, '--to', 'ok@d18.example.test,slow@d17.example.test']);
    m1 = /queued as (\S+)/.exec(r1.last)![1]!;
    const r2 = await swaks([...server, '--from', 'carol@example.test', '--to', 'dave@d18.example.test']);
    m2 = /queued as (\S+)/.exec(r2.last)![1]!;
    // One attempt per message and domain: m1 to d17 and d18, m2 to d18.
    await gw.waitForLog(() => attempts().length >= 3, { what: 'the first three attempts' });

    base = `http://127.0.0.1:${gw.webPort}`;
    const profile = trackTempDir(mkdtempSync(path.join(os.tmpdir(), 'outpost-chromium-')));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(15_000);
    page.on('request', (r) => requests.push(r.url()));
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    const foreign = requests.filter((u) => !u.startsWith(`${base}/`));
    assert.deepEqual(foreign, [], 'the pages load nothing from elsewhere');
    if (gw) assert.equal(await gw.stop(), 0);
    await Promise.all([d17?.stop(), d18?.stop()]);
  });

  async function logIn(email: string, password: string): Promise<void> {
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  const status = () => page.getByRole('status').first().textContent().then((t) => t?.trim());

  test('a webmail account cannot log in to /admin', async () => {
    await page.goto(`${base}/admin`);
    assert.equal(new URL(page.url()).pathname, '/admin/login');
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    await logIn(USER, USER_PW);
    assert.equal((await page.getByRole('alert').textContent())?.trim(), 'The email address or password is wrong.');
    assert.equal(new URL(page.url()).pathname, '/admin/login');
    const cookies = await browser.cookies(`${base}/admin`);
    assert.equal(cookies.some((c) => c.name === 'outpost_admin'), false);
  });

  test('an operator logs in and sees the queue figures and the charts', async () => {
    await logIn(ADMIN, ADMIN_PW);
    await page.waitForURL(`${base}/admin`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Overview');
    const cookie = (await browser.cookies(`${base}/admin`)).find((c) => c.name === 'outpost_admin');
    assert.equal(cookie?.path, '/admin');
    assert.equal(cookie?.httpOnly, true);

    const states = page.getByRole('table', { name: 'Recipients by state' });
    const count = (state: string) =>
      states.getByRole('row').filter({ hasText: state }).getByRole('cell').textContent();
    assert.equal(await count('deferred'), '1');
    assert.equal(await count('delivered'), '2');
    assert.equal(await count('held'), '0');

    for (const [name, summary] of [
      ['Accepted (2)', /^Accepted: 2 messages accepted in the last 24 hours; most in the hour from \d\d:00 UTC \(2\)\.$/],
      ['Delivered (2)', /^Delivered: 2 recipients delivered in the last 24 hours;/],
      ['Deferred (1)', /^Deferred: 1 attempt deferred in the last 24 hours;/],
      ['Bounced (0)', /^Bounced: none in the last 24 hours\.$/],
    ] as const) {
      const figure = page.getByRole('figure', { name });
      assert.equal(await figure.count(), 1, name);
      const chart = figure.getByRole('img');
      assert.match((await chart.getAttribute('aria-label')) ?? '', summary);
      assert.equal(await chart.evaluate((el) => el.tagName), 'svg');
    }
    // The bars are drawn: at least one for each figure that has something.
    assert.ok((await page.locator('#chart-accepted rect.bar').count()) >= 1);
    assert.equal(await page.locator('#chart-bounced rect.bar').count(), 0);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'admin-overview.png'), fullPage: true });
  });

  test('the queue lists what is not finished and filters by state, sender and domain', async () => {
    await page.getByRole('link', { name: 'Queue', exact: true }).click();
    await page.waitForURL(`${base}/admin/queue`);
    const ids = async () =>
      page.locator('table.queue tbody th a').allTextContents().then((a) => a.map((s) => s.trim()));
    assert.equal(await page.locator('#queue-count').textContent(), '1 message.');
    assert.deepEqual(await ids(), [m1]);

    const filter = async (state: string, sender = '', domain = '') => {
      await page.getByLabel('State of a recipient').selectOption(state);
      await page.getByLabel('Sender').fill(sender);
      await page.getByLabel('Recipient domain').fill(domain);
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL((u) => u.searchParams.get('state') === state);
    };
    await filter('deferred');
    assert.deepEqual(await ids(), [m1]);
    await filter('delivered');
    assert.equal(await page.locator('#queue-count').textContent(), '2 messages.');
    assert.deepEqual((await ids()).sort(), [m1, m2].sort());
    await filter('held');
    assert.equal(await page.locator('#queue-count').textContent(), '0 messages.');
    assert.equal(await page.getByText('No message matches.').count(), 1);
    await filter('all', 'carol@example.test');
    assert.deepEqual(await ids(), [m2]);
    await filter('all', '', 'd17.example.test');
    assert.deepEqual(await ids(), [m1]);
    await filter('all', '', 'd18.example.test');
    assert.deepEqual((await ids()).sort(), [m1, m2].sort());
    await filter('all');
    assert.deepEqual((await ids()).sort(), [m1, m2].sort());
    assert.equal(await page.getByLabel('State of a recipient').inputValue(), 'all');
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'admin-queue.png'), fullPage: true });
  });

  test("a message's history: envelope, recipients with their state, every attempt", async () => {
    await page.getByRole('link', { name: m1 }).click();
    await page.waitForURL(`${base}/admin/queue/${m1}`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), `Message ${m1}`);
    const envelope = page.getByRole('region', { name: 'Envelope' });
    assert.match((await envelope.textContent()) ?? '', /From\s*ann@example\.test/);
    assert.match((await envelope.textContent()) ?? '', /Client address\s*127\.0\.0\.1/);

    const rcpts = page.getByRole('region', { name: 'Recipients' }).getByRole('row');
    const ok = rcpts.filter({ hasText: 'ok@d18.example.test' });
    const slow = rcpts.filter({ hasText: 'slow@d17.example.test' });
    assert.equal(await ok.getByRole('cell').nth(0).textContent(), 'delivered');
    assert.equal(await slow.getByRole('cell').nth(0).textContent(), 'deferred');
    assert.equal(await slow.getByRole('cell').nth(1).textContent(), '1');
    assert.match((await slow.getByRole('cell').nth(4).textContent()) ?? '', /^451 4\.2\.1 Come back later/);

    const history = page.getByRole('region', { name: 'Delivery attempts' }).locator('tbody tr');
    assert.equal(await history.count(), 2);
    const d17Row = await history.filter({ hasText: 'slow@d17.example.test' }).locator('td').allTextContents();
    assert.deepEqual(d17Row.slice(0, 5), ['slow@d17.example.test', 'mx.d17.example.test', '127.0.0.47', 'no', 'deferred']);
    assert.match(d17Row[5]!, /^451 4\.2\.1 Come back later/);
    assert.equal(d17Row[6], 'admin-ui');
    const d18Row = await history.filter({ hasText: 'ok@d18.example.test' }).locator('td').allTextContents();
    assert.deepEqual(d18Row.slice(0, 5), ['ok@d18.example.test', 'mx.d18.example.test', '127.0.0.48', 'no', 'delivered']);
    assert.match(d18Row[5]!, /^250 /);
    assert.match((await history.first().locator('th time').getAttribute('datetime')) ?? '', /^\d{4}-\d\d-\d\dT/);
  });

  test('hold and release, then retry: each shows what it did and delivery tries again', async () => {
    const slowState = () =>
      page.getByRole('region', { name: 'Recipients' }).getByRole('row')
        .filter({ hasText: 'slow@d17.example.test' }).getByRole('cell').nth(0).textContent();

    await page.getByRole('button', { name: 'Hold' }).click();
    await page.waitForURL(/done=hold/);
    assert.equal(await status(), '1 recipient held: they stay in the queue and are not delivered until released.');
    assert.equal(await slowState(), 'held');
    const shown = JSON.parse((await gw.cli(['queue', 'show', m1, '--json'])).stdout);
    assert.equal(shown.recipients.find((r: any) => r.address === 'slow@d17.example.test').state, 'held');
    assert.equal(await page.getByRole('button', { name: 'Hold' }).count(), 0);

    await page.getByRole('button', { name: 'Release' }).click();
    await page.waitForURL(/done=release/);
    assert.equal(await status(), '1 recipient released and due now.');
    // The runner is woken at once: a third attempt, deferred again by the receiver.
    await gw.waitForLog(() => attempts().length >= 4, { what: 'the attempt after release' });

    await page.getByRole('button', { name: 'Retry now' }).click();
    await page.waitForURL(/done=retry/);
    assert.equal(await status(), '1 recipient due now; the queue runner takes them at once.');
    await gw.waitForLog(() => attempts().length >= 5, { what: 'the attempt after retry' });

    await page.reload();
    const history = page.getByRole('region', { name: 'Delivery attempts' }).locator('tbody tr');
    await waitFor(async () => (await history.count()) === 4, { what: 'four attempts listed' });
    assert.deepEqual(
      (await history.locator('td:nth-of-type(5)').allTextContents()).sort(),
      ['deferred', 'deferred', 'deferred', 'delivered'],
    );
    assert.equal(await slowState(), 'deferred');
  });

  test('delete asks first, then removes the message', async () => {
    await page.getByRole('link', { name: 'Delete…' }).click();
    await page.waitForURL(`${base}/admin/queue/${m1}/delete`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), `Delete message ${m1}?`);
    assert.equal(await page.getByLabel('Send the sender a failure notice for the recipients not yet done').isChecked(), false);
    await page.getByRole('button', { name: 'Delete the message' }).click();
    await page.waitForURL(/\/admin\/queue\?deleted=/);
    assert.equal(await status(), `Message ${m1} deleted.`);
    const show = await gw.cli(['queue', 'show', m1]);
    assert.equal(show.code, 1);
    const log = await gw.waitForLog((l) => l.event === 'admin' && l.action === 'delete');
    assert.equal(log.admin, ADMIN);
    assert.equal(log.qid, m1);
  });

  test('blocks: the one made with the CLI is listed and lifted', async () => {
    await page.getByRole('link', { name: 'Blocks', exact: true }).click();
    await page.waitForURL(`${base}/admin/blocks`);
    const row = page.getByRole('row').filter({ hasText: 'ip:192.0.2.77' });
    assert.equal(await row.getByRole('cell').first().textContent(), 'abuse report');
    await page.getByRole('button', { name: 'Lift the block on ip:192.0.2.77' }).click();
    await page.waitForURL(/lifted=/);
    assert.equal(await status(), 'The block on ip:192.0.2.77 was lifted.');
    assert.equal(await page.locator('#blocks-count').textContent(), '0 blocked principals.');
    const list = await gw.cli(['block', 'list', '--json']);
    assert.deepEqual(JSON.parse(list.stdout), []);
    await gw.waitForLog((l) => l.event === 'unblock' && l.principal === 'ip:192.0.2.77');
  });

  test('log out', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${base}/admin/login?out=1`);
    assert.equal(await status(), 'You have logged out.');
    await page.goto(`${base}/admin/queue`);
    assert.equal(new URL(page.url()).pathname, '/admin/login');
  });
});
