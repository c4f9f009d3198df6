/**
 * What the gateway adds to a submitted message (RFC 6409 section 8, RFC 5321 section 4.4):
 * a Received line on top, Message-ID and Date only when missing; the client's bytes follow
 * unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Gateway } from '../helpers/gateway.js';
import { pySend } from '../helpers/smtplib.js';
import { plain, RawSmtp } from './raw-client.js';
import { gatewayWithUsers, message, PASSWORD, queuedBody, UNTRUSTED } from './setup.js';

/** Splits the queued body into the lines the gateway added and the client's bytes. */
function split(stored: Buffer, original: Buffer): string {
  assert.ok(stored.length > original.length);
  assert.deepEqual(stored.subarray(stored.length - original.length), original, 'client bytes changed');
  return stored.subarray(0, stored.length - original.length).toString('utf8');
}

describe('submission fix-ups', () => {
  let gw: Gateway;
  before(async () => {
    gw = await gatewayWithUsers(['alice@example.net'], { toml: UNTRUSTED });
  });
  after(async () => {
    await gw.stop();
  });

  it('adds only a Received line to a complete message, which arrives byte for byte', async () => {
    const original = Buffer.from(message('complete', 'X-Odd:   spacing\tkept \r\n\tfolded'), 'utf8');
    const r = await pySend({
      host: '127.0.0.1', port: gw.submissionPort, mode: 'starttls', user: 'alice@example.net',
      password: PASSWORD, from: 'alice@example.net', to: ['bob@example.net'], data: original,
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    const added = split((await queuedBody(gw, r.queueId!))!, original);
    const re = new RegExp(
      '^Received: from client\\.example\\.test \\((?:\\S+ )?\\[127\\.0\\.0\\.1\\]\\)\\r\\n' +
        `\\tby outpost\\.example\\.test \\(Outpost\\) with ESMTPSA id ${r.queueId}\\r\\n` +
        '\\t\\(version=TLSv1\\.[23] cipher=\\S+\\)\\r\\n' +
        '\\tfor <bob@example\\.net>; \\w{3}, \\d{2} \\w{3} \\d{4} \\d{2}:\\d{2}:\\d{2} \\+0000\\r\\n$',
    );
    assert.match(added, re);
  });

  it('adds Message-ID and Date when the client left them out', async () => {
    const original = Buffer.from('From: alice@example.net\r\nTo: a@example.net, b@example.net\r\nSubject: bare\r\n\r\nbody\r\n');
    const c = await RawSmtp.connect(gw.submissionsPort, { tls: true });
    await c.cmd('EHLO client.example.test');
    assert.match(await c.cmd(`AUTH PLAIN ${plain('alice@example.net', PASSWORD)}`), /^235 /);
    await c.cmd('MAIL FROM:<alice@example.net>');
    await c.cmd('RCPT TO:<a@example.net>');
    await c.cmd('RCPT TO:<b@example.net>');
    assert.match(await c.cmd('DATA'), /^354 /);
    c.write(Buffer.concat([original, Buffer.from('.\r\n')]));
    const id = /queued as (\S+)/.exec(await c.reply())![1]!;
    c.close();
    const added = split((await queuedBody(gw, id))!, original);
    const lines = added.split('\r\n');
    assert.match(lines[0]!, /^Received: from client\.example\.test /);
    assert.ok(!added.includes('\tfor <'), 'no "for" clause with two recipients');
    assert.ok(lines.includes(`Message-ID: <${id}@outpost.example.test>`), added);
    assert.ok(lines.some((l) => /^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/.test(l)), added);
  });

  it('keeps dot-stuffed lines unstuffed and 8-bit bytes as sent', async () => {
    const c = await RawSmtp.connect(gw.submissionsPort, { tls: true });
    await c.cmd('EHLO client.example.test');
    await c.cmd(`AUTH PLAIN ${plain('alice@example.net', PASSWORD)}`);
    await c.cmd('MAIL FROM:<alice@example.net> BODY=8BITMIME');
    await c.cmd('RCPT TO:<bob@example.net>');
    assert.match(await c.cmd('DATA'), /^354 /);
    const head = 'Subject: dots\r\nMessage-ID: <d@example.net>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\n';
    c.write(Buffer.concat([Buffer.from(`${head}..leading\r\n`), Buffer.from([0xe4, 0xf6, 0x0d, 0x0a]), Buffer.from('.\r\n')]));
    const id = /queued as (\S+)/.exec(await c.reply())![1]!;
    c.close();
    const expected = Buffer.concat([Buffer.from(`${head}.leading\r\n`), Buffer.from([0xe4, 0xf6, 0x0d, 0x0a])]);
    split((await queuedBody(gw, id))!, expected);
  });
});
