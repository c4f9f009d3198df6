/**
 * The whole path through the real gateway: swaks submits, the queue runner delivers to the
 * receiver the test DNS names as the domain's MX, and `outpost queue show` tells the story.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freeCommonPort } from '../helpers/ports.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { swaks } from '../helpers/swaks.js';
import { waitFor } from '../helpers/wait.js';

let gw: Gateway;
let mx: Recorder;
let mxA: Recorder;

before(async () => {
  const port = await freeCommonPort(['127.0.0.10', '127.0.0.11', '127.0.0.12', '::1']);
  [mx, mxA] = await Promise.all([
    startRecorder('127.0.0.10', port, { rules: [{ match: '^gone@', code: 550, text: '5.1.1 <gone@example.test>: no such user' }] }),
    startRecorder('127.0.0.12', port),
  ]);
  gw = await startGateway({ toml: `[delivery]\nport = ${port}\n[queue]\npoll_interval = "200ms"\n` });
});

after(async () => {
  await gw?.stop();
  await Promise.all([mx?.stop(), mxA?.stop()]);
});

function queueId(last: string): string {
  const m = /queued as (\S+)/.exec(last);
  assert.ok(m, `no queue id in "${last}"`);
  return m[1]!;
}

async function show(id: string): Promise<any> {
  const r = await gw.cli(['queue', 'show', id, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function settled(id: string): Promise<any> {
  let m: any;
  await waitFor(async () => {
    m = await show(id);
    return m.recipients.every((r: any) => r.state === 'delivered' || r.state === 'bounced');
  }, { timeout: 15_000, what: `message ${id} to finish` });
  return m;
}

describe('relay to the MX hosts', () => {
  test('swaks to user@example.test arrives at example.test\'s MX; queue show has the attempt', async () => {
    const r = await swaks(['--server', `127.0.0.1:${gw.submissionPort}`, '--from', 'ann@example.net',
      '--to', 'user@example.test', '--header', 'Subject: relay test']);
    assert.equal(r.code, 0, r.out);
    const id = queueId(r.last);
    const [got] = await mx.waitForMessages(1);
    assert.deepEqual(got!.to, ['user@example.test']);
    assert.equal(got!.from, 'ann@example.net');
    assert.match(got!.data.toString(), /Subject: relay test/);

    const m = await settled(id);
    assert.equal(m.id, id);
    assert.equal(m.from, 'ann@example.net');
    assert.equal(m.recipients.length, 1);
    assert.equal(m.recipients[0].address, 'user@example.test');
    assert.equal(m.recipients[0].state, 'delivered');
    assert.equal(m.recipients[0].attempts, 1);
    assert.equal(m.recipients[0].next_attempt, null);
    assert.match(m.recipients[0].last_reply, /^250 2\.0\.0 Ok: queued as R\d+/);
    assert.equal(m.attempts.length, 1);
    assert.equal(m.attempts[0].host, 'mx.example.test');
    assert.equal(m.attempts[0].ip, '127.0.0.10');
    assert.equal(m.attempts[0].result, 'delivered');
    assert.match(m.attempts[0].reply, /^250 /);

    const text = await gw.cli(['queue', 'show', id]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /mx\.example\.test \[127\.0\.0\.10\]/);
    assert.match(text.stdout, /250 2\.0\.0 Ok: queued as R/);

    const line = gw.logs.find((l) => l.event === 'attempt' && l.qid === id);
    assert.equal(line.mx, 'mx.example.test');
    assert.equal(line.ip, '127.0.0.10');
    assert.equal(line.result, 'delivered');
    assert.equal(line.tls, false);
    assert.deepEqual(line.recipients, ['user@example.test']);
    assert.equal(line.next_attempt, null);
    assert.equal(typeof line.delay, 'number');
  });

  test('first MX down: delivered through the second', async () => {
    const r = await swaks(['--server', `127.0.0.1:${gw.submissionPort}`, '--from', 'ann@example.net',
      '--to', 'x@two-mx.example.test']);
    assert.equal(r.code, 0, r.out);
    const m = await settled(queueId(r.last));
    assert.equal(m.recipients[0].state, 'delivered');
    assert.equal(m.attempts[0].host, 'mx-b.two-mx.example.test');
    assert.equal(m.attempts[0].ip, '127.0.0.12');
    assert.equal((await mxA.waitForMessages(1)).length, 1);
  });

  test('550 for one recipient: bounced after one attempt, the other delivered', async () => {
    const r = await swaks(['--server', `127.0.0.1:${gw.submissionPort}`, '--from', 'ann@example.net',
      '--to', 'gone@example.test,ok2@example.test']);
    assert.equal(r.code, 0, r.out);
    const m = await settled(queueId(r.last));
    const by = Object.fromEntries(m.recipients.map((x: any) => [x.address, x]));
    assert.equal(by['gone@example.test'].state, 'bounced');
    assert.equal(by['gone@example.test'].attempts, 1);
    assert.equal(by['gone@example.test'].last_reply, '550 5.1.1 <gone@example.test>: no such user');
    assert.equal(by['ok2@example.test'].state, 'delivered');
    assert.equal(m.attempts.length, 1);
    assert.equal(m.attempts[0].result, 'mixed');
  });
});
