/**
 * Recipients that the remote server refuses as unknown at delivery time count toward the
 * invalid-recipient block, like bad recipients refused at RCPT: a client address whose five
 * messages bounce with 550 5.1.1 is blocked, and its next MAIL FROM gets 550 5.7.1.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { serverReplyAfter, swaks } from '../helpers/swaks.js';

const MX = '127.0.0.39'; // mx.d9.example.test
const BLOCKED = '550 5.7.1 Sending from your account is suspended after messages to invalid addresses or spam; contact support to have it lifted';

let gw: Gateway;
let mx: Recorder;

before(async () => {
  const port = await freePort(MX);
  mx = await startRecorder(MX, port, { rules: [{ match: '^nobody', code: 550, text: '5.1.1 <nobody> User unknown' }] });
  gw = await startGateway({ toml: `[delivery]\nport = ${port}\n` });
});
after(async () => {
  await gw?.stop();
  await mx?.stop();
});

const send = (to: string) =>
  swaks(['--server', `127.0.0.1:${gw.submissionPort}`, '--from', 'carl@example.test', '--to', to]);

test('five messages refused remotely as unknown block the client address', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await send(`nobody${i}@d9.example.test`);
    assert.match(serverReplyAfter(r, 'DATA'), /^250 2\.0\.0 Ok: queued as \w+$/, r.out);
  }
  const blocked = await gw.waitForLog((l) => l.event === 'block', { timeout: 30_000, what: 'the block log line' });
  assert.equal(blocked.principal, 'ip:127.0.0.1');
  assert.deepEqual(blocked.counts, { invalid_recipient_messages: 5, spam_messages: 0 });

  const bounces = gw.logs.filter((l) => l.event === 'recipient' && l.result === 'bounced' && /^nobody/.test(l.to));
  assert.equal(bounces.length, 5);
  assert.equal((await mx.messages()).length, 0);

  const next = await send('somebody@d9.example.test');
  assert.equal(serverReplyAfter(next, 'MAIL FROM'), BLOCKED);
});
