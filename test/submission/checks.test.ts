/**
 * What a trusted-network client (no login needed) is still refused: bounces, senders whose
 * domain cannot receive replies, too many recipients, oversized messages and lines, long
 * command lines, and a session that keeps making errors. Each refusal is checked for its
 * exact reply code and enhanced status code.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../helpers/gateway.js';
import { startGateway } from '../helpers/gateway.js';
import { serverReplyAfter, serverRepliesAfter, swaks } from '../helpers/swaks.js';
import { RawSmtp } from './raw-client.js';
import { message, queuedMessages } from './setup.js';

const LIMITS = `
[smtp]
max_recipients = 3
max_message_size = "20k"
max_errors = 4
`;

describe('checks for a trusted client', () => {
  let gw: Gateway;
  const server = () => `127.0.0.1:${gw.submissionPort}`;

  before(async () => {
    gw = await startGateway({ toml: LIMITS });
  });
  after(async () => {
    assert.equal(await gw.stop(), 0);
  });

  it('relays without login, over plain SMTP, for any sender', async () => {
    const r = await swaks(['--server', server(), '--from', 'anyone@example.test', '--to', 'x@example.net']);
    assert.match(r.last, /^250 2\.0\.0 Ok: queued as [0-9A-Z]{14}$/, r.out);
    const id = /queued as (\S+)/.exec(r.last)![1]!;
    const m = (await queuedMessages(gw)).find((x) => x.id === id)!;
    assert.equal(m.principal, 'ip:127.0.0.1');
    assert.equal(m.authUser, null);
  });

  it('refuses a bounce (MAIL FROM:<>) with 550 5.7.1', async () => {
    const r = await swaks(['--server', server(), '--from', '<>', '--to', 'x@example.net']);
    assert.match(serverReplyAfter(r, 'MAIL FROM'), /^550 5\.7\.1 /);
  });

  it('checks the sender domain: MX, else A/AAAA, and no null MX (550 5.1.8)', async () => {
    const c = await RawSmtp.connect(gw.submissionPort);
    await c.cmd('EHLO client.example.test');
    const mail = async (from: string) => {
      const r = await c.cmd(`MAIL FROM:<${from}>`);
      if (r.startsWith('250')) await c.cmd('RSET');
      return r;
    };
    assert.match(await mail('a@nx.example.test'), /^550 5\.1\.8 .*nx\.example\.test/);
    assert.match(await mail('a@null-mx.example.test'), /^550 5\.1\.8 .*null MX/);
    assert.match(await mail('a@a-only.example.test'), /^250 2\.1\.0 /);
    assert.match(await mail('a@two-mx.example.test'), /^250 2\.1\.0 /);
    assert.match(await mail('a@xn--bcher-kva.example.test'), /^250 2\.1\.0 /);
    c.close();
  });

  it('refuses recipients beyond smtp.max_recipients with 452 4.5.3', async () => {
    const to = ['r1@example.net', 'r2@example.net', 'r3@example.net', 'r4@example.net'].join(',');
    const r = await swaks(['--server', server(), '--from', 'a@example.test', '--to', to]);
    const rcpts = serverRepliesAfter(r, 'RCPT TO');
    assert.deepEqual(rcpts.map((x) => x.slice(0, 9)), ['250 2.1.5', '250 2.1.5', '250 2.1.5', '452 4.5.3']);
    assert.match(r.last, /^250 2\.0\.0 Ok: queued as /);
    const id = /queued as (\S+)/.exec(r.last)![1]!;
    const m = (await queuedMessages(gw)).find((x) => x.id === id)!;
    assert.equal(m.recipients.length, 3);
  });

  it('refuses a declared size over the limit at MAIL FROM with 552 5.3.4', async () => {
    const c = await RawSmtp.connect(gw.submissionPort);
    const ehlo = await c.cmd('EHLO client.example.test');
    assert.match(ehlo, /250[ -]SIZE 20480/);
    assert.match(await c.cmd('MAIL FROM:<a@example.test> SIZE=20481'), /^552 5\.3\.4 /);
    assert.match(await c.cmd('MAIL FROM:<a@example.test> SIZE=20000'), /^250 /);
    c.close();
  });

  it('refuses a message over the limit at the end of DATA with 552 5.3.4', async () => {
    const before = (await queuedMessages(gw)).length;
    const body = message('big') + ('x'.repeat(70) + '\r\n').repeat(400);
    const r = await swaks(['--server', server(), '--from', 'a@example.test', '--to', 'x@example.net', '--data', '-'], {
      input: body,
    });
    assert.match(serverReplyAfter(r, 'DATA'), /^552 5\.3\.4 /);
    assert.equal((await queuedMessages(gw)).length, before);
  });

  it('refuses a line over 998 octets with a 5.6.0 reply naming the limit', async () => {
    const c = await RawSmtp.connect(gw.submissionPort);
    await c.cmd('EHLO client.example.test');
    await c.cmd('MAIL FROM:<a@example.test>');
    await c.cmd('RCPT TO:<x@example.net>');
    assert.match(await c.cmd('DATA'), /^354 /);
    c.write(`Subject: long\r\n\r\n${'y'.repeat(998)}\r\n`); // exactly at the limit: fine
    c.write(`${'z'.repeat(999)}\r\n.\r\n`);
    assert.match(await c.reply(), /^550 5\.6\.0 .*998/);
    // The session goes on.
    assert.match(await c.cmd('NOOP'), /^250 /);
    c.close();
  });

  it('answers a command line over 512 octets with 500 5.5.2 and keeps the session', async () => {
    const c = await RawSmtp.connect(gw.submissionPort);
    await c.cmd('EHLO client.example.test');
    assert.match(await c.cmd(`MAIL FROM:<${'a'.repeat(500)}@example.test>`), /^500 5\.5\.2 /);
    assert.match(await c.cmd(`NOOP ${'n'.repeat(505)}`), /^250 /); // 510 octets + CRLF = 512
    assert.match(await c.cmd('MAIL FROM:<a@example.test>'), /^250 /);
    c.close();
  });

  it('answers bad syntax with 5.5.x / 5.1.x codes', async () => {
    const c = await RawSmtp.connect(gw.submissionPort);
    assert.match(await c.cmd('MAIL FROM:<a@example.test>'), /^503 5\.5\.1 /); // before EHLO
    await c.cmd('EHLO client.example.test');
    assert.match(await c.cmd('FROB'), /^500 5\.5\.2 /);
    assert.match(await c.cmd('MAIL FROM:a@'), /^501 5\.1\.7 /);
    c.close();
  });

  it('closes a session with 421 4.7.0 after smtp.max_errors errors', async () => {
    const c = await RawSmtp.connect(gw.submissionPort);
    await c.cmd('EHLO client.example.test');
    for (let i = 0; i < 4; i++) assert.match(await c.cmd('FROB'), /^500 /);
    assert.match(await c.cmd('NOOP'), /^421 4\.7\.0 /);
    assert.equal(await c.reply(), '');
    assert.equal(c.isClosed, true);
  });

  it('keeps DSN parameters (RET, ENVID, NOTIFY, ORCPT) and 8BITMIME/SMTPUTF8 flags', async () => {
    const c = await RawSmtp.connect(gw.submissionPort);
    await c.cmd('EHLO client.example.test');
    assert.match(await c.cmd('MAIL FROM:<a@example.test> RET=HDRS ENVID=env+2B42 BODY=8BITMIME'), /^250 /);
    assert.match(await c.cmd('RCPT TO:<x@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@example.net'), /^250 /);
    assert.match(await c.cmd('RCPT TO:<y@example.net>'), /^250 /);
    assert.match(await c.cmd('DATA'), /^354 /);
    c.write(message('dsn') + '.\r\n');
    const done = await c.reply();
    assert.match(done, /^250 2\.0\.0 Ok: queued as /);
    const id = /queued as (\S+)/.exec(done)![1]!;
    const m = (await queuedMessages(gw)).find((x) => x.id === id)!;
    assert.equal(m.ret, 'HDRS');
    assert.equal(m.envid, 'env+42');
    assert.equal(m.eightBit, true);
    assert.equal(m.smtputf8, false);
    const x = m.recipients.find((r) => r.address === 'x@example.net')!;
    assert.deepEqual(x.notify, ['SUCCESS', 'FAILURE']);
    assert.equal(x.orcpt, 'rfc822;x@example.net');
    const y = m.recipients.find((r) => r.address === 'y@example.net')!;
    assert.equal(y.notify, null);
    assert.equal(y.orcpt, null);

    assert.match(await c.cmd('MAIL FROM:<a@example.test> SMTPUTF8'), /^250 /);
    assert.match(await c.cmd('RCPT TO:<jörg@example.net>'), /^250 /);
    assert.match(await c.cmd('DATA'), /^354 /);
    c.write(message('utf8') + '.\r\n');
    const id2 = /queued as (\S+)/.exec(await c.reply())![1]!;
    const m2 = (await queuedMessages(gw)).find((q) => q.id === id2)!;
    assert.equal(m2.smtputf8, true);
    assert.equal(m2.recipients[0]!.address, 'jörg@example.net');
    c.close();
  });
});

describe('sender domain when DNS does not answer', () => {
  let gw: Gateway;
  let blackHole: dgram.Socket;

  before(async () => {
    // A UDP socket that reads queries and never answers them.
    blackHole = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => blackHole.bind(0, '127.0.0.1', resolve));
    const port = blackHole.address().port;
    gw = await startGateway({ toml: `[dns]\nservers = ["127.0.0.1:${port}"]\ntimeout = "300ms"\n` });
  });
  after(async () => {
    await gw.stop();
    blackHole.close();
  });

  it('answers 451 4.4.3 so the client retries later', async () => {
    const r = await swaks(['--server', `127.0.0.1:${gw.submissionPort}`, '--from', 'a@example.test', '--to', 'x@example.net']);
    assert.match(serverReplyAfter(r, 'MAIL FROM'), /^451 4\.4\.3 /);
  });
});
