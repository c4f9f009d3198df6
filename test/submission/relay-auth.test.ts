/**
 * Relay rights for a client outside the trusted networks: it must log in, and only inside
 * TLS (STARTTLS or implicit TLS); wrong passwords are refused, then slowed, then locked out;
 * a logged-in mailbox sends only as itself or what it was granted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../helpers/gateway.js';
import { pySend } from '../helpers/smtplib.js';
import { serverReplyAfter, swaks } from '../helpers/swaks.js';
import { b64, plain, RawSmtp } from './raw-client.js';
import { gatewayWithUsers, message, PASSWORD, queuedMessages, UNTRUSTED } from './setup.js';

describe('relay rights from an untrusted network', () => {
  let gw: Gateway;
  const server = () => `127.0.0.1:${gw.submissionPort}`;

  before(async () => {
    gw = await gatewayWithUsers(['alice@example.net', 'carol@customer.example.test'], { toml: UNTRUSTED });
    await gw.cli(['user', 'grant', 'alice@example.net', 'shared@example.net']);
    await gw.cli(['user', 'grant', 'carol@customer.example.test', '@customer.example.test']);
  });
  after(async () => {
    assert.equal(await gw.stop(), 0);
  });

  it('offers STARTTLS but no AUTH before TLS, and AUTH PLAIN LOGIN inside TLS', async () => {
    const c = await RawSmtp.connect(gw.submissionPort);
    const ehlo = await c.cmd('EHLO client.example.test');
    for (const ext of ['PIPELINING', 'SIZE 36700160', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'DSN', 'STARTTLS']) {
      assert.ok(ehlo.split('\n').some((l) => l.slice(4) === ext), `EHLO lacks ${ext}:\n${ehlo}`);
    }
    assert.ok(!/AUTH/.test(ehlo), `AUTH offered before TLS:\n${ehlo}`);
    assert.match(await c.cmd('STARTTLS'), /^220 /);
    await c.startTls();
    const ehlo2 = await c.cmd('EHLO client.example.test');
    assert.ok(ehlo2.split('\n').some((l) => l.slice(4) === 'AUTH PLAIN LOGIN'), ehlo2);
    assert.ok(!/STARTTLS/.test(ehlo2), ehlo2);
    c.close();
  });

  it('refuses AUTH on an unencrypted connection with 538 5.7.11', async () => {
    const c = await RawSmtp.connect(gw.submissionPort);
    await c.cmd('EHLO client.example.test');
    assert.match(await c.cmd(`AUTH PLAIN ${plain('alice@example.net', PASSWORD)}`), /^538 5\.7\.11 /);
    assert.match(await c.cmd('MAIL FROM:<alice@example.net>'), /^530 5\.7\.0 /);
    c.close();
  });

  it('refuses MAIL FROM without login with 530 5.7.0, even inside TLS', async () => {
    const r = await swaks(['--server', server(), '--tls', '--from', 'alice@example.net', '--to', 'x@example.net']);
    assert.match(serverReplyAfter(r, 'MAIL FROM'), /^530 5\.7\.0 /);
    assert.equal(await queuedMessages(gw).then((m) => m.length), 0);
  });

  it('queues a message from a logged-in mailbox over STARTTLS (swaks, AUTH PLAIN)', async () => {
    const r = await swaks([
      '--server', server(), '--tls', '--auth', 'PLAIN', '--auth-user', 'alice@example.net',
      '--auth-password', PASSWORD, '--from', 'alice@example.net', '--to', 'x@example.net',
    ]);
    assert.match(r.last, /^250 2\.0\.0 Ok: queued as [0-9A-Z]{14}$/, r.out);
    const id = /queued as (\S+)/.exec(r.last)![1]!;
    const m = (await queuedMessages(gw)).find((x) => x.id === id);
    assert.ok(m, 'message in the queue');
    assert.equal(m.sender, 'alice@example.net');
    assert.equal(m.authUser, 'alice@example.net');
    assert.equal(m.principal, 'user:alice@example.net');
    assert.deepEqual(m.recipients.map((x) => x.address), ['x@example.net']);
    const accepted = await gw.waitForLog((l) => l.event === 'accepted' && l.qid === id);
    assert.equal(accepted.recipients, 1);
    assert.equal(accepted.sender, 'alice@example.net');
  });

  it('queues a message over implicit TLS with AUTH LOGIN (smtplib)', async () => {
    const r = await pySend({
      host: '127.0.0.1', port: gw.submissionsPort, mode: 'implicit', user: 'Alice@Example.NET',
      password: PASSWORD, from: 'alice@example.net', to: ['bob@example.net'], data: message('implicit'),
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.code, 250);
    assert.match(r.message!, /^2\.0\.0 Ok: queued as /);
  });

  it('refuses a wrong password with 535 5.7.8 and never logs the password', async () => {
    const r = await swaks([
      '--server', server(), '--tls', '--auth', 'LOGIN', '--auth-user', 'alice@example.net',
      '--auth-password', 'wrong-password-xyz', '--from', 'alice@example.net', '--to', 'x@example.net',
    ]);
    assert.match(r.out, /<~\*? +535 5\.7\.8 /);
    await gw.waitForLog((l) => l.event === 'auth' && l.result === 'failed');
    const text = gw.logs.map((l) => JSON.stringify(l)).join('\n');
    assert.ok(!text.includes('wrong-password-xyz') && !text.includes(PASSWORD));
  });

  it('refuses an AUTH response that is not base64 with 501 5.5.2', async () => {
    const c = await RawSmtp.connect(gw.submissionsPort, { tls: true });
    await c.cmd('EHLO client.example.test');
    assert.match(await c.cmd('AUTH PLAIN not*base64!'), /^501 5\.5\.2 /);
    assert.match(await c.cmd('AUTH LOGIN'), /^334 /);
    assert.match(await c.cmd('%%%'), /^501 5\.5\.2 /);
    // The exchange is over: the next line is a command again.
    assert.match(await c.cmd('NOOP'), /^250 /);
    assert.match(await c.cmd(`AUTH PLAIN ${plain('alice@example.net', PASSWORD)}`), /^235 2\.7\.0 /);
    c.close();
  });

  it('lets a mailbox send only as itself or as granted addresses and domains (553 5.7.1)', async () => {
    const c = await RawSmtp.connect(gw.submissionsPort, { tls: true });
    await c.cmd('EHLO client.example.test');
    assert.match(await c.cmd(`AUTH PLAIN ${plain('alice@example.net', PASSWORD)}`), /^235 /);
    assert.match(await c.cmd('MAIL FROM:<bob@example.net>'), /^553 5\.7\.1 /);
    assert.match(await c.cmd('MAIL FROM:<shared@example.net>'), /^250 /);
    assert.match(await c.cmd('RSET'), /^250 /);
    assert.match(await c.cmd('MAIL FROM:<ALICE@example.net>'), /^250 /);
    c.close();

    const d = await RawSmtp.connect(gw.submissionsPort, { tls: true });
    await d.cmd('EHLO client.example.test');
    assert.match(await d.cmd(`AUTH PLAIN ${plain('carol@customer.example.test', PASSWORD)}`), /^235 /);
    assert.match(await d.cmd('MAIL FROM:<sales@customer.example.test>'), /^250 /);
    assert.match(await d.cmd('RSET'), /^250 /);
    assert.match(await d.cmd('MAIL FROM:<sales@example.test>'), /^553 5\.7\.1 /);
    d.close();
  });

  it('refuses the null sender even from a logged-in mailbox (550 5.7.1)', async () => {
    const c = await RawSmtp.connect(gw.submissionsPort, { tls: true });
    await c.cmd('EHLO client.example.test');
    await c.cmd(`AUTH PLAIN ${plain('alice@example.net', PASSWORD)}`);
    assert.match(await c.cmd('MAIL FROM:<>'), /^550 5\.7\.1 /);
    c.close();
  });
});

describe('login throttling', () => {
  let gw: Gateway;
  before(async () => {
    gw = await gatewayWithUsers(['alice@example.net'], {
      toml: `${UNTRUSTED}\n[auth]\nmax_failures = 3\nfailure_delay = "200ms"\nlockout = "10m"\n`,
    });
  });
  after(async () => {
    await gw.stop();
  });

  it('locks an address out after max_failures wrong passwords (454 4.7.0), right ones too', async () => {
    const c = await RawSmtp.connect(gw.submissionsPort, { tls: true });
    await c.cmd('EHLO client.example.test');
    for (let i = 1; i <= 3; i++) {
      assert.match(await c.cmd(`AUTH PLAIN ${plain('alice@example.net', `guess-${i}`)}`), /^535 5\.7\.8 /);
    }
    assert.match(await c.cmd(`AUTH PLAIN ${plain('alice@example.net', PASSWORD)}`), /^454 4\.7\.0 /);
    c.close();
    const lock = await gw.waitForLog((l) => l.event === 'auth_lockout');
    assert.equal(lock.ip, '127.0.0.1');
    assert.equal(lock.failures, 3);
  });

  it('keeps the lockout for new connections', async () => {
    const r = await swaks([
      '--server', `127.0.0.1:${gw.submissionPort}`, '--tls', '--auth', 'PLAIN', '--auth-user', 'alice@example.net',
      '--auth-password', PASSWORD, '--from', 'alice@example.net', '--to', 'x@example.net',
    ]);
    assert.match(r.out, /454 4\.7\.0 /);
  });
});

export { b64 };
