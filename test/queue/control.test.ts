/**
 * `outpost queue` against a running gateway: list, show, retry, hold, release, delete
 * --bounce and stats, on a message whose recipient is deferred, and the honest state of a
 * recipient whose delivery is in flight.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { startScripted, type ScriptedServer } from '../helpers/scripted-smtp.js';
import { swaks } from '../helpers/swaks.js';
import { waitFor } from '../helpers/wait.js';

const MX = '127.0.0.33'; // d3.example.test

let gw: Gateway;
let rec: Recorder;
let stall: ScriptedServer;

before(async () => {
  const port = await freePort(MX);
  rec = await startRecorder(MX, port, { rules: [{ match: '^defer', code: 451, text: '4.3.0 try later' }] });
  // A server that never answers the final dot: a delivery that stays in flight.
  stall = await startScripted('127.0.0.1', 0, { dataEnd: { stall: true } });
  gw = await startGateway({
    toml: `
[delivery]
port = ${port}
data_timeout = "5m"
[delivery.routes]
"example.net" = "${MX}:${port}"
"stall.example.test" = "127.0.0.1:${stall.port}"
[retry]
schedule = ["10m until 1h"]
[queue]
poll_interval = "200ms"
`,
  });
});

after(async () => {
  // The stalled delivery ends when its server goes away, so the gateway stops without waiting.
  await stall?.stop();
  await gw?.stop();
  await rec?.stop();
});

async function send(to: string): Promise<string> {
  const r = await swaks(['--server', `127.0.0.1:${gw.submissionPort}`, '--from', 'ann@example.net', '--to', to]);
  assert.equal(r.code, 0, r.out);
  return /queued as (\S+)/.exec(r.last)![1]!;
}

async function cli(args: string[]): Promise<string> {
  const r = await gw.cli(['queue', ...args]);
  assert.equal(r.code, 0, `queue ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const show = async (id: string) => JSON.parse(await cli(['show', id, '--json']));

/** Waits for the n-th attempt in the gateway's log (cheaper than polling the CLI), then shows. */
async function afterAttempt(id: string, n: number): Promise<any> {
  await waitFor(() => gw.logs.filter((l) => l.event === 'attempt' && l.qid === id).length >= n,
    { timeout: 15_000, what: `attempt ${n} of ${id}` });
  return show(id);
}

describe('queue control', () => {
  let id: string;

  before(async () => {
    id = await send('defer@d3.example.test');
  });

  test('a deferred recipient is listed with its attempts, next attempt and last reply', async () => {
    const m = await afterAttempt(id, 1);
    const r = m.recipients[0];
    assert.equal(r.state, 'deferred');
    assert.equal(r.last_reply, '451 4.3.0 try later');
    assert.equal(r.in_flight, false);
    // The next slot is 10 minutes after acceptance.
    assert.equal(Date.parse(r.next_attempt) - Date.parse(m.created), 600_000);

    const list = JSON.parse(await cli(['list', '--json']));
    const mine = list.find((x: any) => x.id === id);
    assert.ok(mine);
    assert.equal(mine.from, 'ann@example.net');
    assert.equal(typeof mine.size, 'number');
    assert.equal(mine.created, m.created);
    assert.equal(mine.recipients[0].address, 'defer@d3.example.test');
    assert.equal(mine.recipients[0].state, 'deferred');
    assert.equal(mine.recipients[0].attempts, 1);
    assert.equal(mine.recipients[0].next_attempt, r.next_attempt);
    assert.equal(mine.recipients[0].last_reply, '451 4.3.0 try later');

    const text = await cli(['list']);
    assert.match(text, new RegExp(`^${id} `, 'm'));
    assert.match(text, /<defer@d3\.example\.test>\s+deferred, next attempt \S+, 1 attempt/);
    assert.match(text, /451 4\.3\.0 try later/);
  });

  test('retry makes it due now: a second attempt follows at once', async () => {
    assert.match(await cli(['retry', id]), /1 recipient due now/);
    assert.equal((await afterAttempt(id, 2)).recipients[0].attempts, 2);
  });

  test('hold keeps it from delivery, release puts it back', async () => {
    assert.match(await cli(['hold', id]), /1 recipient held/);
    let m = await show(id);
    assert.equal(m.recipients[0].state, 'held');
    assert.equal(m.recipients[0].next_attempt, null);
    assert.match(await cli(['retry', '--all']), /^0 recipients due now/);

    assert.match(await cli(['release', id]), /1 recipient released/);
    m = await afterAttempt(id, 3);
    assert.equal(m.recipients[0].attempts, 3);
    assert.equal(m.recipients[0].state, 'deferred');
  });

  test('stats count recipients per state', async () => {
    const s = JSON.parse(await cli(['stats', '--json']));
    assert.ok(s.recipients.deferred >= 1);
    assert.equal(typeof s.messages, 'number');
    assert.ok(s.oldest_queued);
  });

  test('delete --bounce removes it and tells the sender', async () => {
    assert.match(await cli(['delete', id, '--bounce']), /deleted; failure notice \S+ queued/);
    const gone = await gw.cli(['queue', 'show', id]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, new RegExp(`no message with queue id ${id}`));
    const notices = await rec.waitForMessages(1);
    const n = notices.find((x) => x.to.includes('ann@example.net'));
    assert.ok(n);
    assert.equal(n.from, '<>');
    const text = n.data.toString();
    assert.match(text, /Action: failed/);
    assert.match(text, /Status: 5\.0\.0/);
    assert.match(text, /Final-Recipient: rfc822; defer@d3\.example\.test/);
    assert.match(text, new RegExp(`X-Outpost-Queue-ID: ${id}`));
  });

  test('a recipient being delivered shows as in flight, with no planned next attempt', async () => {
    const sid = await send('x@stall.example.test');
    await waitFor(() => stall.messages.length === 1, { timeout: 10_000, what: 'the stalled delivery' });
    const m = await show(sid);
    assert.equal(m.recipients[0].state, 'queued');
    assert.equal(m.recipients[0].in_flight, true);
    assert.equal(m.recipients[0].next_attempt, null);
    assert.ok(m.recipients[0].lease_owner);
    assert.match(await cli(['show', sid]), /being delivered now/);
  });

  test('an unknown queue id: exit 1 and a hint', async () => {
    const r = await gw.cli(['queue', 'hold', 'NOSUCHID']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no message with queue id NOSUCHID; `outpost queue list --all`/);
  });
});
