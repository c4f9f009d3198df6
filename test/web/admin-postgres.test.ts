/**
 * /metrics, the admin pages and the operators' CLI with `[store] postgres`: two real gateways
 * (`outpost serve`) on one fresh PostgreSQL database. The queue gauges of both nodes show the
 * one shared queue, the counters only what each node did itself. An operator logs in over
 * HTTP (no browser: the pages are the same as with SQLite) and holds a message; `queue list
 * --json`, `block list --json` and `admin list --json` read the same database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freshDatabase, type FreshDatabase } from '../helpers/pg.js';
import { freeCommonPort } from '../helpers/ports.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { swaks } from '../helpers/swaks.js';
import { waitFor } from '../helpers/wait.js';
import { parseMetrics, sample } from '../metrics/parse.js';

const ADMIN = 'op@example.test';
const ADMIN_PW = 'Operator on PostgreSQL 1';

/** A browser's cookies, enough for one host: name -> value. */
class Jar {
  values = new Map<string, string>();
  take(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (value === '' || /max-age=0/i.test(c)) this.values.delete(name);
      else this.values.set(name, value);
    }
  }
  header(): string {
    return [...this.values].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const token = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)![1]!;

describe('operators with [store] postgres', () => {
  let db: FreshDatabase;
  let d19: Recorder;
  let gw: Gateway;
  let gw2: Gateway;
  let qid: string;

  before(async () => {
    db = await freshDatabase();
    // d19 accepts; nothing listens on d20's address, so its recipient is deferred.
    const port = await freeCommonPort(['127.0.0.49', '127.0.0.50']);
    d19 = await startRecorder('127.0.0.49', port);
    const toml = (node: string) =>
      `node_id = "${node}"\n[store]\npostgres = "${db.url}"\n[delivery]\nport = ${port}\n` +
      `[retry]\nschedule = ["1h until 1d"]\n`;
    gw = await startGateway({ toml: toml('pg-node-1') });
    gw2 = await startGateway({ toml: toml('pg-node-2') });
    const added = await gw.cli(['admin', 'add', ADMIN, '--password-stdin'], ADMIN_PW);
    assert.equal(added.code, 0, added.stderr);
    const blocked = await gw2.cli(['block', 'add', 'user:mallory@example.test', '--reason', 'abuse report']);
    assert.equal(blocked.code, 0, blocked.stderr);

    const r = await swaks(['--server', `127.0.0.1:${gw.submissionPort}`, '--from', 'ann@example.test',
      '--to', 'a@d19.example.test,b@d20.example.test']);
    qid = /queued as (\S+)/.exec(r.last)![1]!;
    const attempts = () => [...gw.logs, ...gw2.logs].filter((l) => l.event === 'attempt' && l.qid === qid);
    await waitFor(async () => attempts().length >= 2, { what: 'both attempts (by either node)' });
  });

  after(async () => {
    if (gw) assert.equal(await gw.stop(), 0);
    if (gw2) assert.equal(await gw2.stop(), 0);
    await d19?.stop();
    await db?.drop();
  });

  test('/metrics: both nodes show the shared queue; counters are per node', async () => {
    const scrape = async (g: Gateway) =>
      parseMetrics(await (await fetch(`http://127.0.0.1:${g.webPort}/metrics`)).text());
    const [one, two] = await Promise.all([scrape(gw), scrape(gw2)]);
    for (const m of [one, two]) {
      assert.equal(sample(m, 'outpost_queue_recipients', { state: 'delivered' }), 1);
      assert.equal(sample(m, 'outpost_queue_recipients', { state: 'deferred' }), 1);
      assert.equal(sample(m, 'outpost_queue_messages', {}), 1);
      assert.equal(sample(m, 'outpost_blocks', {}), 1);
      assert.ok(sample(m, 'outpost_queue_oldest_age_seconds', {}) > 0);
    }
    assert.equal(sample(one, 'outpost_messages_accepted_total', { node: 'pg-node-1', source: 'smtp' }), 1);
    assert.equal(sample(two, 'outpost_messages_accepted_total', { node: 'pg-node-2', source: 'smtp' }), 0);
    // Either node may have made each attempt; together they made exactly one per domain.
    const delivered = (m: typeof one, node: string) => sample(m, 'outpost_deliveries_total', { node, result: 'delivered' });
    const deferred = (m: typeof one, node: string) => sample(m, 'outpost_deliveries_total', { node, result: 'deferred' });
    assert.equal(delivered(one, 'pg-node-1') + delivered(two, 'pg-node-2'), 1);
    assert.equal(deferred(one, 'pg-node-1') + deferred(two, 'pg-node-2'), 1);
  });

  test('the admin pages read and act on the shared queue', async () => {
    const base = `http://127.0.0.1:${gw2.webPort}`;
    const jar = new Jar();
    const get = async (path: string) => {
      const res = await fetch(base + path, { headers: { cookie: jar.header() }, redirect: 'manual' });
      jar.take(res);
      return res;
    };
    const post = async (path: string, form: Record<string, string>) => {
      const res = await fetch(base + path, {
        method: 'POST',
        headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded', origin: base },
        body: new URLSearchParams(form).toString(),
        redirect: 'manual',
      });
      jar.take(res);
      return res;
    };

    const login = await get('/admin/login');
    const res = await post('/admin/login', { email: ADMIN, password: ADMIN_PW, csrf: token(await login.text()) });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/admin');

    const overview = await (await get('/admin')).text();
    assert.match(overview, /Accepted <span class="chart-total">\(1\)<\/span>/);
    assert.match(overview, /Delivered <span class="chart-total">\(1\)<\/span>/);
    assert.match(overview, /Deferred <span class="chart-total">\(1\)<\/span>/);
    assert.match(overview, /Shown by node pg-node-2/);

    const queue = await (await get('/admin/queue')).text();
    assert.match(queue, new RegExp(`href="/admin/queue/${qid}"`));
    assert.match(queue, /<p role="status" id="queue-count">1 message\.<\/p>/);

    const show = await (await get(`/admin/queue/${qid}`)).text();
    assert.match(show, /<td>mx\.d19\.example\.test<\/td>\s*<td>127\.0\.0\.49<\/td>/);
    assert.match(show, /<td>mx\.d20\.example\.test<\/td>\s*<td>127\.0\.0\.50<\/td>/);
    assert.match(show, /Connection refused by mx\.d20\.example\.test\[127\.0\.0\.50\]/);

    const held = await post(`/admin/queue/${qid}/hold`, { csrf: token(show) });
    assert.equal(held.status, 303);
    assert.equal(held.headers.get('location'), `/admin/queue/${qid}?done=hold&n=1`);
    const cli = JSON.parse((await gw.cli(['queue', 'show', qid, '--json'])).stdout);
    assert.deepEqual(cli.recipients.map((r: any) => [r.address, r.state]),
      [['a@d19.example.test', 'delivered'], ['b@d20.example.test', 'held']]);
  });

  test('queue list, block list and admin list --json work against PostgreSQL', async () => {
    const list = await gw.cli(['queue', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const views = JSON.parse(list.stdout);
    assert.equal(views.length, 1);
    assert.equal(views[0].id, qid);
    assert.equal(views[0].from, 'ann@example.test');
    assert.equal(views[0].recipients.length, 2);

    const blocks = await gw.cli(['block', 'list', '--json']);
    assert.equal(blocks.code, 0, blocks.stderr);
    const parsed = JSON.parse(blocks.stdout);
    assert.equal(parsed.length, 1);
    assert.equal(parsed[0].principal, 'user:mallory@example.test');
    assert.equal(parsed[0].reason, 'abuse report');

    const admins = await gw2.cli(['admin', 'list', '--json']);
    assert.deepEqual(JSON.parse(admins.stdout).map((a: any) => a.address), [ADMIN]);
  });
});
