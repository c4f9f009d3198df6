/**
 * The notice builder alone, its output read back by mailparser: structure of the report,
 * the fields, RET handling, and bytes fit for SMTP (CRLF only, no line over 998 octets).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { buildNotice, originalSubject, type NoticeInput } from '../../src/dsn/build.js';
import type { NoticeRecipient } from '../../src/dsn/fields.js';
import { parseNotices } from './parse.js';

const T0 = Date.UTC(2026, 11, 3, 10, 0, 0);
const ORIGINAL = Buffer.from(
  'Received: from client (127.0.0.1)\r\n\tby outpost.example.test; Thu, 03 Dec 2026 10:00:00 +0000\r\n' +
  'From: Jürgen <juergen@example.net>\r\nTo: bob@example.test\r\n' +
  'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=\r\nMessage-ID: <orig-1@example.net>\r\n' +
  'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße!\r\n',
);

function rcpt(extra: Partial<NoticeRecipient> = {}): NoticeRecipient {
  return {
    address: 'bob@example.test', orcpt: 'rfc822;Bob@Example.test', action: 'failed', status: '5.1.1',
    reply: { code: 550, enhanced: '5.1.1', text: `<bob@example.test>: Recipient address rejected: ${'very long words '.repeat(12)}`, source: 'remote' },
    mx: 'mx.example.test', ip: '127.0.0.10', lastAttempt: T0 + 60_000, ...extra,
  };
}

function input(extra: Partial<NoticeInput> = {}): NoticeInput {
  return {
    action: 'failed', hostname: 'outpost.example.test', messageId: 'N1@outpost.example.test',
    original: { id: 'QID1', sender: 'juergen@example.net', created: T0, envid: 'env-42', ret: null, body: ORIGINAL },
    recipients: [rcpt(), rcpt({ address: 'carl@example.test', orcpt: null, status: '5.2.2', reply: { code: 552, enhanced: '5.2.2', text: 'mailbox full', source: 'remote' } })],
    expired: false, now: T0 + 61_000, ...extra,
  };
}

/** The body of the first MIME part of this type (7bit/8bit parts, as the builder makes them). */
function section(buf: Buffer, type: string): string {
  const text = buf.toString('utf8');
  const start = text.indexOf(`Content-Type: ${type}`);
  assert.ok(start >= 0, `no ${type} part`);
  const body = text.indexOf('\r\n\r\n', start) + 4;
  return text.slice(body, text.indexOf('\r\n----_', body));
}

function checkWire(buf: Buffer): void {
  const text = buf.toString('latin1');
  assert.ok(!/[^\r]\n/.test(text), 'bare LF in the notice');
  assert.ok(!/\r[^\n]/.test(text), 'bare CR in the notice');
  for (const line of text.split('\r\n')) assert.ok(line.length <= 998, `line of ${line.length} octets`);
}

describe('buildNotice', () => {
  test('a bounce: multipart/report with text, delivery-status and the original headers', async () => {
    const buf = await buildNotice(input());
    checkWire(buf);
    const head = buf.toString('latin1', 0, buf.indexOf('\r\n\r\n'));
    assert.match(head, /^Content-Type: multipart\/report; report-type=delivery-status;/m);
    assert.match(head, /^Auto-Submitted: auto-replied$/m);

    const p = await simpleParser(buf);
    assert.equal(p.from?.value[0]?.address, 'MAILER-DAEMON@outpost.example.test');
    assert.equal(p.subject, 'Undeliverable: Grüße aus München');
    assert.equal(p.messageId, '<N1@outpost.example.test>');
    assert.match(p.text ?? '', /could not be delivered to the following recipients/);
    assert.match(p.text ?? '', /<carl@example\.test>\s+The recipient's mail server mx\.example\.test \[127\.0\.0\.10\] refused it and said:\s+552 5\.2\.2 mailbox full/);

    const [py] = parseNotices([buf]);
    assert.deepEqual(py!.parts, ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    assert.deepEqual(py!.defects, []);
    assert.equal(py!.recipients.length, 2);
    assert.equal(py!.recipients[1]!['Final-Recipient'], 'rfc822; carl@example.test');
    assert.equal(py!.recipients[1]!.Status, '5.2.2');
    const ds = section(buf, 'message/delivery-status');
    const unfolded = ds.replace(/\r\n[ \t]+/g, ' ');
    assert.match(unfolded, /^Reporting-MTA: dns; outpost\.example\.test\r\n/);
    assert.match(unfolded, /^Original-Envelope-Id: env-42$/m);
    assert.match(unfolded, /^Arrival-Date: Thu, 03 Dec 2026 10:00:00 \+0000$/m);
    assert.match(unfolded, /^Original-Recipient: rfc822; Bob@Example\.test$/m);
    assert.match(unfolded, /^Diagnostic-Code: smtp; 550 5\.1\.1 <bob@example\.test>: Recipient address rejected: (very long words ){11}very long words$/m);
    assert.equal(ds.split('\r\n\r\n').filter((b) => b.trim()).length, 3); // per-message + 2 recipients

    const headers = section(buf, 'text/rfc822-headers');
    assert.match(headers, /^Message-ID: <orig-1@example\.net>$/m);
    assert.ok(!headers.includes('Grüße!'), 'the body must not be returned without RET=FULL');
  });

  test('RET=FULL: the whole 8-bit original as message/rfc822, byte for byte', async () => {
    const buf = await buildNotice(input({ original: { ...input().original, ret: 'FULL' } }));
    checkWire(buf);
    assert.ok(buf.includes(ORIGINAL), 'the original is not in the notice unchanged');
    const p = await simpleParser(buf);
    assert.match(p.text ?? '', /Your message is attached/);
    const [py] = parseNotices([buf]);
    assert.deepEqual(py!.parts, ['text/plain', 'message/delivery-status', 'message/rfc822']);
    assert.equal(py!.original.headers['Message-ID'], '<orig-1@example.net>');
  });

  test('a delay notice says until when the gateway keeps trying and carries headers only', async () => {
    const until = T0 + 5 * 86_400_000;
    const buf = await buildNotice(input({
      action: 'delayed',
      original: { ...input().original, ret: 'FULL' },
      recipients: [rcpt({ action: 'delayed', status: '4.2.0', willRetryUntil: until, reply: { code: 451, enhanced: '4.2.0', text: 'busy', source: 'remote' } })],
    }));
    const p = await simpleParser(buf);
    assert.equal(p.subject, 'Delivery delayed: Grüße aus München');
    assert.match(p.text ?? '', /gives up/);
    assert.match(p.text ?? '', /Tue, 08 Dec 2026 10:00:00 \+0000/);
    const [py] = parseNotices([buf]);
    assert.deepEqual(py!.parts, ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    const ds = section(buf, 'message/delivery-status');
    assert.match(ds, /^Action: delayed$/m);
    assert.match(ds, /^Will-Retry-Until: Tue, 08 Dec 2026 10:00:00 \+0000$/m);
  });

  test('a local diagnosis is not dressed up as an SMTP reply', async () => {
    const buf = await buildNotice(input({
      recipients: [rcpt({ mx: null, ip: null, status: '5.1.2', reply: { code: 550, enhanced: '5.1.2', text: 'Domain nx.example.test does not exist', source: 'local' } })],
    }));
    const ds = section(buf, 'message/delivery-status');
    assert.match(ds, /^Diagnostic-Code: X-Outpost; Domain nx\.example\.test does not exist$/m);
    assert.ok(!/Remote-MTA/.test(ds));
  });

  test('the original subject: decoded, unfolded, cut short', () => {
    assert.equal(originalSubject(Buffer.from('Subject: =?UTF-8?B?w6TDtsO8?=\r\n\tmore\r\n')), 'äöü more');
    assert.equal(originalSubject(Buffer.from('From: a@b\r\n')), null);
    assert.equal(originalSubject(Buffer.from(`Subject: ${'x'.repeat(500)}\r\n`))!.length, 100);
  });
});
