/**
 * The retry schedule in scaled time and the notices it produces, through the real gateway:
 * a recipient answered 451 every time is tried at every slot, gets delay notices and finally
 * a bounce; a 550 recipient gets one bounce and no retry; NOTIFY, RET, ENVID and ORCPT are
 * honoured. Notices arrive at the sender's MX (a second recorder) and are parsed by Python's
 * email package.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freeCommonPort } from '../helpers/ports.js';
import { startRecorder, type RecordedMessage, type Recorder } from '../helpers/receivers.js';
import { smtplib } from '../helpers/smtplib.js';
import { waitFor } from '../helpers/wait.js';
import { parseNotices, type ParsedNotice } from './parse.js';

// Slots at 0, 1, 2, 3, 5 and 7 s; the first delay notice at 2 s, the next 3 s later.
const TOML = `
[delivery]
port = PORT
[retry]
schedule = ["1s until 3s", "2s until 7s"]
delay_notice_after = "2s"
delay_notice_every = "3s"
[queue]
poll_interval = "200ms"
`;
const SLOTS = [0, 1000, 2000, 3000, 5000, 7000];

let gw: Gateway;
let mx: Recorder; // example.test: the recipients' server
let home: Recorder; // example.net: where the sender's notices arrive

before(async () => {
  const port = await freeCommonPort(['127.0.0.10', '127.0.0.20']);
  [mx, home] = await Promise.all([
    startRecorder('127.0.0.10', port, {
      rules: [
        { match: '^slow@', code: 451, text: '4.2.1 mailbox temporarily full' },
        { match: '^never-slow@', code: 451, text: '4.2.1 mailbox temporarily full' },
        { match: '^gone', code: 550, text: '5.1.1 no such user here' },
      ],
    }),
    startRecorder('127.0.0.20', port),
  ]);
  gw = await startGateway({ toml: TOML.replace('PORT', String(port)) });
});

after(async () => {
  await gw?.stop();
  await Promise.all([mx?.stop(), home?.stop()]);
});

const SEND_PY = String.raw`
import json, smtplib, sys
p = json.load(sys.stdin)
s = smtplib.SMTP(p["host"], p["port"], timeout=30)
s.ehlo("client.example.test")
code, msg = s.mail(p["from"], p["mail_options"])
assert code == 250, (code, msg)
for r in p["rcpts"]:
    code, msg = s.rcpt(r["to"], r["options"])
    assert code == 250, (code, msg)
code, msg = s.data(p["data"].encode())
print(json.dumps({"code": code, "msg": msg.decode()}))
s.quit()
`;

/** Submits with per-recipient DSN parameters (smtplib); returns the queue id. */
async function submit(mailOptions: string[], rcpts: Array<{ to: string; options?: string[] }>, subject: string): Promise<string> {
  const data = `From: Ann <ann@example.net>\r\nTo: someone@example.test\r\nSubject: ${subject}\r\n\r\nBody of ${subject}.\r\n`;
  const input = JSON.stringify({
    host: '127.0.0.1', port: gw.submissionPort, from: 'ann@example.net', mail_options: mailOptions,
    rcpts: rcpts.map((r) => ({ to: r.to, options: r.options ?? [] })), data,
  });
  const r = await smtplib(SEND_PY, input);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { code: number; msg: string };
  assert.equal(out.code, 250);
  return /queued as (\S+)/.exec(out.msg)![1]!;
}

async function show(id: string): Promise<any> {
  const r = await gw.cli(['queue', 'show', id, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('retry schedule and notices', () => {
  let ids: Record<string, string>;
  let notices: ParsedNotice[];
  let envelopes: RecordedMessage[];

  before(async () => {
    ids = {
      main: await submit(['RET=HDRS', 'ENVID=QX-ENV-1'], [
        { to: 'slow@example.test', options: ['ORCPT=rfc822;Slow.Original@example.test'] },
        { to: 'gone@example.test', options: ['NOTIFY=FAILURE'] },
      ], 'schedule'),
      never: await submit([], [
        { to: 'gone-quiet@example.test', options: ['NOTIFY=NEVER'] },
        { to: 'never-slow@example.test', options: ['NOTIFY=NEVER'] },
      ], 'never'),
      full: await submit(['RET=FULL'], [{ to: 'gone-full@example.test' }], 'full'),
      success: await submit([], [{ to: 'ok@example.test', options: ['NOTIFY=SUCCESS,FAILURE'] }], 'success'),
    };
    // Everything finishes once the schedule has run out (7 s) and the last notice is out.
    await waitFor(async () => {
      const r = await gw.cli(['queue', 'list', '--json']);
      return r.code === 0 && JSON.parse(r.stdout).length === 0;
    }, { timeout: 30_000, interval: 300, what: 'an empty queue' });
    envelopes = await home.messages();
    notices = parseNotices(envelopes.map((e) => e.data));
  });

  test('the 451 recipient is tried at every slot, never early, then bounced; the 550 one once', async () => {
    const m = await show(ids.main!);
    const by = Object.fromEntries(m.recipients.map((r: any) => [r.address, r]));
    assert.equal(by['slow@example.test'].state, 'bounced');
    assert.equal(by['slow@example.test'].attempts, SLOTS.length);
    assert.equal(by['slow@example.test'].last_reply, '451 4.2.1 mailbox temporarily full');
    assert.equal(by['gone@example.test'].state, 'bounced');
    assert.equal(by['gone@example.test'].attempts, 1);

    const created = Date.parse(m.created);
    assert.equal(m.attempts.length, SLOTS.length);
    m.attempts.forEach((a: any, i: number) => {
      assert.ok(Date.parse(a.time) >= created + SLOTS[i]!, `attempt ${i + 1} at ${Date.parse(a.time) - created} ms, before its slot ${SLOTS[i]}`);
      assert.equal(a.host, 'mx.example.test');
      assert.equal(a.ip, '127.0.0.10');
    });
    assert.equal(m.attempts[0].result, 'mixed');
    assert.deepEqual(m.attempts.slice(1).map((a: any) => a.result), ['deferred', 'deferred', 'deferred', 'deferred', 'bounced']);
    assert.deepEqual(m.attempts.slice(1).map((a: any) => a.recipients), Array(SLOTS.length - 1).fill(['slow@example.test']));
  });

  test('notices come from the null reverse-path, as RFC 3464 reports', () => {
    assert.equal(envelopes.length, 6, notices.map((n) => n.subject).join(' | '));
    for (const e of envelopes) {
      assert.equal(e.from, '<>'); // aiosmtpd's form of the null reverse-path
      assert.deepEqual(e.to, ['ann@example.net']);
    }
    for (const n of notices) {
      assert.equal(n.content_type, 'multipart/report');
      assert.equal(n.report_type, 'delivery-status');
      assert.equal(n.parts[0], 'text/plain');
      assert.equal(n.parts[1], 'message/delivery-status');
      assert.equal(n.from, 'Mail Delivery System <MAILER-DAEMON@outpost.example.test>');
      assert.equal(n.auto_submitted, 'auto-replied');
      assert.deepEqual(n.defects, []);
      assert.equal(n.per_message['Reporting-MTA'], 'dns; outpost.example.test');
      assert.ok(n.per_message['Arrival-Date']);
    }
  });

  const of = (qid: string, action: string) =>
    notices.filter((n) => n.per_message['X-Outpost-Queue-ID'] === qid && n.recipients.some((r) => r.Action === action));

  test('a 550 gives one bounce at once, with the remote reply and the headers only (RET=HDRS)', () => {
    const bounces = of(ids.main!, 'failed');
    assert.equal(bounces.length, 2);
    const b = bounces.find((n) => n.recipients[0]!['Final-Recipient'] === 'rfc822; gone@example.test')!;
    assert.equal(b.recipients.length, 1);
    const r = b.recipients[0]!;
    assert.equal(r.Action, 'failed');
    assert.equal(r.Status, '5.1.1');
    assert.equal(r['Diagnostic-Code'], 'smtp; 550 5.1.1 no such user here');
    assert.equal(r['Remote-MTA'], 'dns; mx.example.test');
    assert.equal(r['Original-Recipient'], undefined);
    assert.equal(b.per_message['Original-Envelope-Id'], 'QX-ENV-1');
    assert.equal(b.parts[2], 'text/rfc822-headers');
    assert.equal(b.original.headers.Subject, 'schedule');
    assert.match(b.subject, /^Undeliverable: schedule$/);
    assert.match(b.text, /could not be delivered/);
    assert.match(b.text, /550 5\.1\.1 no such user here/);
    assert.match(b.text, /will not try again/);
  });

  test('delay notices while retrying, with Will-Retry-Until and the original recipient', async () => {
    const delays = of(ids.main!, 'delayed');
    assert.equal(delays.length, 2);
    const created = Date.parse((await show(ids.main!)).created);
    for (const d of delays) {
      assert.equal(d.recipients.length, 1);
      const r = d.recipients[0]!;
      assert.equal(r['Final-Recipient'], 'rfc822; slow@example.test');
      assert.equal(r['Original-Recipient'], 'rfc822; Slow.Original@example.test');
      assert.equal(r.Status, '4.2.1');
      assert.equal(r['Diagnostic-Code'], 'smtp; 451 4.2.1 mailbox temporarily full');
      // RFC 5322 dates carry whole seconds: the give-up time is acceptance + 7 s.
      assert.equal(Math.floor(Date.parse(r['Will-Retry-Until']!) / 1000), Math.floor((created + 7000) / 1000));
      assert.equal(d.per_message['Original-Envelope-Id'], 'QX-ENV-1');
      assert.equal(d.parts[2], 'text/rfc822-headers');
      assert.match(d.subject, /^Delivery delayed: schedule$/);
      assert.match(d.text, /keeps trying/);
    }
  });

  test('when the schedule runs out: one bounce with the last reply', () => {
    const b = of(ids.main!, 'failed').find((n) => n.recipients[0]!['Final-Recipient'] === 'rfc822; slow@example.test')!;
    assert.equal(b.recipients.length, 1);
    assert.equal(b.recipients[0]!.Status, '5.2.1');
    assert.equal(b.recipients[0]!['Diagnostic-Code'], 'smtp; 451 4.2.1 mailbox temporarily full');
    assert.equal(b.recipients[0]!['Original-Recipient'], 'rfc822; Slow.Original@example.test');
    assert.match(b.text, /kept trying for \d+s and has now given up/);
  });

  test('NOTIFY=NEVER: no notice, neither bounce nor delay', async () => {
    assert.equal(notices.filter((n) => n.per_message['X-Outpost-Queue-ID'] === ids.never).length, 0);
    const m = await show(ids.never!);
    assert.deepEqual(m.recipients.map((r: any) => r.state), ['bounced', 'bounced']);
  });

  test('RET=FULL: the bounce carries the whole message', () => {
    const [b] = of(ids.full!, 'failed');
    assert.ok(b);
    assert.equal(b.parts[2], 'message/rfc822');
    assert.equal(b.original.headers.Subject, 'full');
    assert.match(b.original.body!, /Body of full\./);
  });

  test('NOTIFY=SUCCESS: a "delivered" notice, and SUCCESS is not passed on to the remote', async () => {
    const [s] = of(ids.success!, 'delivered');
    assert.ok(s);
    assert.equal(s.recipients[0]!.Status, '2.0.0');
    assert.equal(s.recipients[0]!['Final-Recipient'], 'rfc822; ok@example.test');
    assert.match(s.recipients[0]!['Diagnostic-Code']!, /^smtp; 250 /);
    const got = (await mx.messages()).find((m) => m.to.includes('ok@example.test'))!;
    assert.deepEqual(got.rcpts[0]!.options, ['NOTIFY=FAILURE']);
  });
});
