/**
 * Sender restrictions through `outpost serve` with real SMTP clients and the CLI:
 *
 * - a mailbox that sends to five invalid addresses is blocked (550 5.7.1 at MAIL FROM), is
 *   listed, stays blocked over a restart, and sends again once unblocked with the CLI;
 * - a client address whose messages score high with rspamd three times is blocked;
 * - hourly message and recipient rates and the per-message recipient limit;
 * - `outpost block add/list/remove` with the principal forms operators type.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { pySend } from '../helpers/smtplib.js';
import { serverReplyAfter, serverRepliesAfter, swaks } from '../helpers/swaks.js';
import { fixture, plain } from '../scan/messages.js';

const MX = '127.0.0.38'; // mx.d8.example.test
const PASSWORD = 'correct horse battery staple';
const BLOCKED = '550 5.7.1 Sending from your account is suspended after messages to invalid addresses or spam; contact support to have it lifted';

async function addUser(gw: Gateway, address: string): Promise<void> {
  const r = await gw.cli(['user', 'add', address, '--password-stdin'], `${PASSWORD}\n`);
  assert.equal(r.code, 0, r.stderr);
}

/** A logged-in mailbox over STARTTLS (swaks). */
function authSwaks(gw: Gateway, user: string, to: string[], extra: string[] = []) {
  return swaks(['--server', `127.0.0.1:${gw.submissionPort}`, '--tls', '--auth', 'PLAIN', '--auth-user', user,
    '--auth-password', PASSWORD, '--from', user, '--to', to.join(','), ...extra]);
}

async function blockList(gw: Gateway): Promise<Array<{ principal: string; reason: string; since: string; counts: Record<string, number> }>> {
  const r = await gw.cli(['block', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('a mailbox sending to invalid addresses', () => {
  let gw: Gateway;
  before(async () => {
    // Loopback is not trusted here: the client must log in, so the principal is the mailbox.
    gw = await startGateway({ toml: `[relay]\ntrusted_networks = ["10.0.0.0/8"]\n[delivery]\nport = ${await freePort(MX)}\n` });
    await addUser(gw, 'ann@example.net');
  });
  after(async () => {
    await gw?.stop();
  });

  test('five messages with a bad recipient block it; listed; kept over a restart; unblocked; accepted again', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await authSwaks(gw, 'ann@example.net', [`bad..dots${i}@d8.example.test`]);
      assert.equal(serverReplyAfter(r, 'MAIL FROM'), '250 2.1.0 Accepted');
      assert.match(serverReplyAfter(r, 'RCPT TO'), /^501 5\.1\.3 /, r.out);
    }
    const blocked = await gw.waitForLog((l) => l.event === 'block');
    assert.equal(blocked.principal, 'user:ann@example.net');
    assert.deepEqual(blocked.counts, { invalid_recipient_messages: 5, spam_messages: 0 });

    const good = await authSwaks(gw, 'ann@example.net', ['bob@d8.example.test']);
    assert.equal(serverReplyAfter(good, 'MAIL FROM'), BLOCKED);

    const list = await blockList(gw);
    assert.equal(list.length, 1);
    assert.equal(list[0]!.principal, 'user:ann@example.net');
    assert.equal(list[0]!.reason, 'messages to invalid recipients');
    assert.deepEqual(list[0]!.counts, { invalid_recipient_messages: 5, spam_messages: 0 });
    assert.match(list[0]!.since, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const text = await gw.cli(['block', 'list']);
    assert.match(text.stdout, /^user:ann@example\.net\s+\S+\s+messages to invalid recipients\s+\(invalid_recipient_messages=5 spam_messages=0\)$/m);

    gw = await gw.restart();
    const afterRestart = await authSwaks(gw, 'ann@example.net', ['bob@d8.example.test']);
    assert.equal(serverReplyAfter(afterRestart, 'MAIL FROM'), BLOCKED);

    const removed = await gw.cli(['block', 'remove', 'ann@example.net']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout.trim(), 'unblocked user:ann@example.net');
    const logLine = JSON.parse(removed.stderr.trim().split('\n').pop()!);
    assert.equal(logLine.event, 'unblock');
    assert.equal(logLine.principal, 'user:ann@example.net');
    assert.deepEqual(await blockList(gw), []);

    const again = await authSwaks(gw, 'ann@example.net', ['bob@d8.example.test']);
    assert.match(again.last, /^250 2\.0\.0 Ok: queued as \S+$/, again.out);
  });
});

describe('a client address sending high-scoring messages', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({
      toml: `[delivery]\nport = ${await freePort(MX)}\n` +
        '[scan.rspamd]\nurl = "http://127.0.0.1:11333"\nhigh_score = 10\n',
    });
  });
  after(async () => {
    await gw?.stop();
  });

  test('three messages scoring over high_score block 127.0.0.1; the third is refused', async () => {
    const send = () => pySend({ host: '127.0.0.1', port: gw.submissionPort, mode: 'plain', from: 'winner@example.net',
      to: ['bob@d8.example.test'], data: fixture('spam.eml') });
    // The sample scores about 13.5: under the reject score (15), over the high score (10).
    for (let i = 0; i < 2; i++) {
      const r = await send();
      assert.equal(r.code, 250, JSON.stringify(r));
    }
    const third = await send();
    assert.equal(`${third.code} ${third.message}`, BLOCKED);
    const fourth = await send();
    assert.equal(fourth.stage, 'mail');
    assert.equal(`${fourth.code} ${fourth.message}`, BLOCKED);
    const list = await blockList(gw);
    assert.deepEqual(list.map((b) => [b.principal, b.reason, b.counts]),
      [['ip:127.0.0.1', 'messages with a high spam score', { invalid_recipient_messages: 0, spam_messages: 3 }]]);
  });
});

describe('rates', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({
      toml: `[delivery]\nport = ${await freePort(MX)}\n` +
        '[limits]\nmessages_per_hour = 2\nrecipients_per_message = 3\nrecipients_per_hour = 6\n',
    });
    await addUser(gw, 'carl@example.net');
    await addUser(gw, 'dora@example.net');
  });
  after(async () => {
    await gw?.stop();
  });

  test('the fourth recipient of a message gets 452 4.5.3; the first three are kept', async () => {
    const to = ['a@d8.example.test', 'b@d8.example.test', 'c@d8.example.test', 'd@d8.example.test'];
    const r = await authSwaks(gw, 'carl@example.net', to);
    assert.deepEqual(serverRepliesAfter(r, 'RCPT TO'), ['250 2.1.5 Accepted', '250 2.1.5 Accepted', '250 2.1.5 Accepted', '452 4.5.3 Too many recipients']);
    assert.match(r.last, /^250 2\.0\.0 Ok: queued as /, r.out);
  });

  test('a third message within the hour gets 451 4.7.1 at MAIL FROM', async () => {
    const r = await authSwaks(gw, 'carl@example.net', ['e@d8.example.test']);
    assert.match(r.last, /^250 2\.0\.0 /, r.out);
    const third = await authSwaks(gw, 'carl@example.net', ['f@d8.example.test']);
    assert.equal(serverReplyAfter(third, 'MAIL FROM'), '451 4.7.1 Too many messages sent in the last hour; try again later');
    assert.deepEqual(await blockList(gw), [], 'a rate limit is not a block');
  });

  test('recipients per hour: 452 4.5.3 once six went out this hour', async () => {
    const first = await authSwaks(gw, 'dora@example.net', ['a@d8.example.test', 'b@d8.example.test', 'c@d8.example.test']);
    assert.match(first.last, /^250 2\.0\.0 /, first.out);
    const second = await authSwaks(gw, 'dora@example.net', ['d@d8.example.test', 'e@d8.example.test', 'f@d8.example.test', 'g@d8.example.test']);
    assert.deepEqual(serverRepliesAfter(second, 'RCPT TO'), ['250 2.1.5 Accepted', '250 2.1.5 Accepted', '250 2.1.5 Accepted',
      '452 4.5.3 Too many recipients']);
    const third = await authSwaks(gw, 'dora@example.net', ['h@d8.example.test']);
    // Two messages this hour already: the message rate answers first.
    assert.equal(serverReplyAfter(third, 'MAIL FROM'), '451 4.7.1 Too many messages sent in the last hour; try again later');
  });
});

describe('outpost block add/list/remove', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ toml: `[delivery]\nport = ${await freePort(MX)}\n` });
  });
  after(async () => {
    await gw?.stop();
  });

  test('an operator blocks a client address; its MAIL FROM gets 550 5.7.1 until removed', async () => {
    const add = await gw.cli(['block', 'add', '127.0.0.1', '--reason', 'abuse report 2026-12-03']);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout.trim(), 'blocked ip:127.0.0.1');
    const logLine = JSON.parse(add.stderr.trim().split('\n').pop()!);
    assert.deepEqual([logLine.event, logLine.principal, logLine.reason, logLine.by], ['block', 'ip:127.0.0.1', 'abuse report 2026-12-03', 'operator']);

    const r = await swaks(['--server', `127.0.0.1:${gw.submissionPort}`, '--from', 'ann@example.net', '--to', 'bob@d8.example.test']);
    assert.equal(serverReplyAfter(r, 'MAIL FROM'), BLOCKED);

    const again = await gw.cli(['block', 'add', 'ip:127.0.0.1', '--reason', 'twice']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^outpost: ip:127\.0\.0\.1 is blocked already since \S+ \(abuse report 2026-12-03\)$/m);

    const list = await blockList(gw);
    assert.deepEqual(list.map((b) => [b.principal, b.reason]), [['ip:127.0.0.1', 'abuse report 2026-12-03']]);

    assert.equal((await gw.cli(['block', 'remove', 'ip:127.0.0.1'])).code, 0);
    const ok = await swaks(['--server', `127.0.0.1:${gw.submissionPort}`, '--from', 'ann@example.net', '--to', 'bob@d8.example.test']);
    assert.match(ok.last, /^250 2\.0\.0 /, ok.out);
  });

  test('errors say what to do', async () => {
    const missing = await gw.cli(['block', 'remove', 'user:nobody@example.net']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /user:nobody@example\.net is not blocked; `outpost block list` shows the blocked principals/);
    const bad = await gw.cli(['block', 'add', 'somebody', '--reason', 'x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /neither a mailbox address nor an IP address/);
    const noReason = await gw.cli(['block', 'add', 'ann@example.net']);
    assert.notEqual(noReason.code, 0);
    assert.match(noReason.stderr, /--reason/);
    const empty = await gw.cli(['block', 'list']);
    assert.equal(empty.stdout.trim(), 'no blocks');
  });
});
