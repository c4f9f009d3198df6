/**
 * Delivery without the queue: routing through the test DNS and the SMTP client against real
 * receivers (aiosmtpd recorder) and, for misbehaviour on demand, the scripted server.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import { openSession, type OutgoingMessage } from '../../src/delivery/client.js';
import { deliverToDomain, type DeliverDeps } from '../../src/delivery/deliver.js';
import { ConnectionPool } from '../../src/delivery/pool.js';
import { testResolver } from '../helpers/dns.js';
import { freeCommonPort, freePort } from '../helpers/ports.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { startScripted, type ScriptOptions, type ScriptedServer } from '../helpers/scripted-smtp.js';

const stops: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(stops.map((s) => s()));
});

function deps(port: number, extra: Record<string, unknown> = {}): DeliverDeps {
  const cfg = validateConfig({
    hostname: 'outpost.example.test',
    delivery: {
      port,
      connect_timeout: '2s',
      greeting_timeout: '1s',
      command_timeout: '1s',
      data_timeout: '1s',
      ...extra,
    },
  }, null);
  const d = cfg.delivery;
  const pool = new ConnectionPool({
    maxConnections: d.max_connections,
    maxMessagesPerConnection: d.max_messages_per_connection,
    idleMs: 2000,
    maxIdlePerHost: 2,
    open: (t) => openSession(t, {
      hostname: cfg.hostname,
      tls: d.tls,
      connectTimeout: d.connect_timeout,
      greetingTimeout: d.greeting_timeout,
      commandTimeout: d.command_timeout,
      dataTimeout: d.data_timeout,
    }),
  });
  stops.push(async () => pool.closeAll());
  return { cfg, resolver: testResolver(), pool };
}

const BODY = Buffer.from(
  'From: Ann <ann@example.org>\r\nTo: bob@example.test\r\nSubject: hello\r\nMessage-ID: <t1@example.org>\r\n' +
  'Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\nHello.\r\n.leading dot\r\n',
);

function msg(recipients: string[], extra: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return {
    sender: 'ann@example.org',
    recipients: recipients.map((address) => ({ address, notify: null, orcpt: null })),
    body: BODY,
    envid: null,
    ret: null,
    smtputf8: false,
    eightBit: false,
    ...extra,
  };
}

async function recorder(addr: string, port: number, opts = {}): Promise<Recorder> {
  const r = await startRecorder(addr, port, opts);
  stops.push(() => r.stop());
  return r;
}

async function scripted(script: ScriptOptions): Promise<ScriptedServer> {
  const s = await startScripted('127.0.0.1', 0, script);
  stops.push(() => s.stop());
  return s;
}

describe('routing and delivery to real receivers', () => {
  test('MX of example.test: delivered byte for byte with the DSN parameters passed on', async () => {
    const port = await freePort('127.0.0.10');
    const rec = await recorder('127.0.0.10', port);
    const m = msg(['bob@example.test'], { envid: 'env 1+x', ret: 'HDRS' });
    m.recipients[0]!.notify = ['FAILURE', 'DELAY'];
    m.recipients[0]!.orcpt = 'rfc822;bob@example.test';
    const r = await deliverToDomain('example.test', m, deps(port));
    assert.equal(r.outcomes.length, 1);
    const o = r.outcomes[0]!;
    assert.equal(o.kind, 'delivered');
    assert.equal(o.reply.code, 250);
    assert.equal(o.mx, 'mx.example.test');
    assert.equal(o.ip, '127.0.0.10');
    const [got] = await rec.waitForMessages(1);
    assert.deepEqual(got!.data, BODY);
    assert.equal(got!.from, 'ann@example.org');
    assert.deepEqual(got!.to, ['bob@example.test']);
    assert.equal(got!.helo, 'outpost.example.test');
    assert.ok(got!.mailOptions.includes('RET=HDRS'));
    assert.ok(got!.mailOptions.includes('ENVID=env+201+2Bx'));
    assert.deepEqual(got!.rcpts[0]!.options, ['NOTIFY=FAILURE,DELAY', 'ORCPT=rfc822;bob@example.test']);
  });

  test('first MX down: the second MX (preference 20) gets the message', async () => {
    const port = await freeCommonPort(['127.0.0.11', '127.0.0.12', '::1']);
    const rec = await recorder('127.0.0.12', port);
    const r = await deliverToDomain('two-mx.example.test', msg(['x@two-mx.example.test']), deps(port));
    assert.equal(r.outcomes[0]!.kind, 'delivered');
    assert.equal(r.outcomes[0]!.mx, 'mx-b.two-mx.example.test');
    assert.equal(r.outcomes[0]!.ip, '127.0.0.12');
    assert.deepEqual(r.skipped.map((s) => s.target.ip), ['127.0.0.11', '::1']);
    assert.match(r.skipped[0]!.reply.text, /Connection refused/);
    assert.equal((await rec.waitForMessages(1)).length, 1);
  });

  test('no MX: the A record is the implicit MX', async () => {
    const port = await freeCommonPort(['127.0.0.13', '::1']);
    const rec = await recorder('127.0.0.13', port);
    const r = await deliverToDomain('a-only.example.test', msg(['y@a-only.example.test']), deps(port));
    assert.equal(r.outcomes[0]!.kind, 'delivered');
    assert.equal(r.outcomes[0]!.mx, 'a-only.example.test');
    assert.equal(r.outcomes[0]!.ip, '127.0.0.13');
    assert.equal((await rec.waitForMessages(1)).length, 1);
  });

  test('null MX bounces with 5.1.10, a domain that does not exist with 5.1.2', async () => {
    const d = deps(25);
    const n = await deliverToDomain('null-mx.example.test', msg(['a@null-mx.example.test']), d);
    assert.equal(n.outcomes[0]!.kind, 'failed');
    assert.equal(n.outcomes[0]!.reply.enhanced, '5.1.10');
    const x = await deliverToDomain('nx.example.test', msg(['a@nx.example.test']), d);
    assert.equal(x.outcomes[0]!.kind, 'failed');
    assert.equal(x.outcomes[0]!.reply.enhanced, '5.1.2');
  });

  test('an MX nobody listens on: deferred, connection refused', async () => {
    const port = await freePort('127.0.0.99');
    const r = await deliverToDomain('mx-down.example.test', msg(['a@mx-down.example.test']), deps(port));
    assert.equal(r.outcomes[0]!.kind, 'deferred');
    assert.equal(r.outcomes[0]!.reply.enhanced, '4.4.1');
    assert.match(r.outcomes[0]!.reply.text, /Connection refused by down\.example\.test\[127\.0\.0\.99\]/);
  });

  test('equal preferences: both MX hosts get used (random order)', async () => {
    const port = await freeCommonPort(['127.0.0.14', '127.0.0.15']);
    const [a, b] = await Promise.all([recorder('127.0.0.14', port), recorder('127.0.0.15', port)]);
    const ips = new Set<string>();
    for (let i = 0; i < 12 && ips.size < 2; i++) {
      // A fresh pool each time, so the routing order decides and not a kept connection.
      const r = await deliverToDomain('equal-mx.example.test', msg([`n${i}@equal-mx.example.test`]), deps(port));
      assert.equal(r.outcomes[0]!.kind, 'delivered');
      ips.add(r.outcomes[0]!.ip!);
    }
    assert.deepEqual([...ips].sort(), ['127.0.0.14', '127.0.0.15']);
    assert.ok((await a.messages()).length > 0 && (await b.messages()).length > 0);
  });

  test('an MX host with only an IPv6 address is reached over IPv6', async () => {
    const port = await freePort('::1');
    const rec = await recorder('::1', port);
    const r = await deliverToDomain('v6only.example.test', msg(['v@v6only.example.test']), deps(port));
    assert.equal(r.outcomes[0]!.kind, 'delivered');
    assert.equal(r.outcomes[0]!.ip, '::1');
    assert.equal(r.outcomes[0]!.mx, 'mx.v6only.example.test');
    assert.equal((await rec.waitForMessages(1)).length, 1);
  });

  test('an internationalised domain is looked up and addressed as its A-label', async () => {
    const port = await freePort('127.0.0.16');
    const rec = await recorder('127.0.0.16', port);
    const r = await deliverToDomain('bücher.example.test', msg(['leser@bücher.example.test']), deps(port));
    assert.equal(r.outcomes[0]!.kind, 'delivered', r.outcomes[0]!.reply.text);
    assert.equal(r.outcomes[0]!.ip, '127.0.0.16');
    const [got] = await rec.waitForMessages(1);
    assert.deepEqual(got!.to, ['leser@xn--bcher-kva.example.test']);
    assert.ok(!got!.mailOptions.includes('SMTPUTF8'));
  });

  test('SERVFAIL: deferred (4.4.3), DNS may answer later', async () => {
    const r = await deliverToDomain('servfail.example.test', msg(['a@servfail.example.test']), deps(25));
    assert.equal(r.outcomes[0]!.kind, 'deferred');
    assert.equal(r.outcomes[0]!.reply.enhanced, '4.4.3');
  });

  test('STARTTLS is used when offered, with a self-signed certificate', async () => {
    const port = await freePort('127.0.0.10');
    const rec = await recorder('127.0.0.10', port, { tls: true });
    const r = await deliverToDomain('example.test', msg(['tls@example.test']), deps(port));
    assert.equal(r.outcomes[0]!.kind, 'delivered');
    assert.equal(r.outcomes[0]!.tls, true);
    const [got] = await rec.waitForMessages(1);
    assert.equal(got!.tls, true);
  });

  test('one transaction: accepted, refused for good and deferred recipients', async () => {
    const port = await freePort('127.0.0.10');
    const rec = await recorder('127.0.0.10', port, {
      rules: [
        { match: '^gone@', code: 550, text: '5.1.1 <gone@example.test>: no such user' },
        { match: '^busy@', code: 451, text: '4.2.0 mailbox busy' },
      ],
    });
    const r = await deliverToDomain('example.test', msg(['ok@example.test', 'gone@example.test', 'busy@example.test']), deps(port));
    assert.deepEqual(r.outcomes.map((o) => [o.address, o.kind, o.reply.code, o.reply.enhanced]), [
      ['ok@example.test', 'delivered', 250, '2.0.0'],
      ['gone@example.test', 'failed', 550, '5.1.1'],
      ['busy@example.test', 'deferred', 451, '4.2.0'],
    ]);
    assert.equal(r.outcomes[1]!.reply.text, '<gone@example.test>: no such user');
    const got = await rec.waitForMessages(1);
    assert.deepEqual(got[0]!.to, ['ok@example.test']);
  });

  test('SMTPUTF8 is announced for a message that needs it', async () => {
    const port = await freePort('127.0.0.10');
    const rec = await recorder('127.0.0.10', port);
    const r = await deliverToDomain('example.test', msg(['bob@example.test'], { smtputf8: true, eightBit: true }), deps(port));
    assert.equal(r.outcomes[0]!.kind, 'delivered');
    const [got] = await rec.waitForMessages(1);
    assert.ok(got!.mailOptions.includes('SMTPUTF8'), got!.mailOptions.join(' '));
    assert.ok(got!.mailOptions.includes('BODY=8BITMIME'));
  });

  test('two messages to one host share one connection (RSET between them)', async () => {
    const port = await freePort('127.0.0.10');
    const rec = await recorder('127.0.0.10', port);
    const d = deps(port);
    const a = await deliverToDomain('example.test', msg(['one@example.test']), d);
    const b = await deliverToDomain('example.test', msg(['two@example.test']), d);
    assert.equal(a.outcomes[0]!.kind, 'delivered');
    assert.equal(b.outcomes[0]!.kind, 'delivered');
    const got = await rec.waitForMessages(2);
    assert.equal(got[0]!.conn, got[1]!.conn);
    assert.equal(d.pool.size, 1);
  });
});

describe('misbehaving servers (scripted)', () => {
  const route = (s: ScriptedServer, extra: Record<string, unknown> = {}) =>
    deps(25, { routes: { 'scripted.example.test': `127.0.0.1:${s.port}` }, ...extra });
  const to = ['a@scripted.example.test', 'b@scripted.example.test'];

  test('a greeting that never comes: deferred after greeting_timeout', async () => {
    const s = await scripted({ greeting: { stall: true } });
    const r = await deliverToDomain('scripted.example.test', msg(to), route(s));
    assert.deepEqual(r.outcomes.map((o) => o.kind), ['deferred', 'deferred']);
    assert.match(r.outcomes[0]!.reply.text, /Timed out waiting for the greeting/);
  });

  test('no reply to RCPT: deferred after command_timeout', async () => {
    const s = await scripted({ rcpt: { stall: true }, extensions: ['8BITMIME'] });
    const r = await deliverToDomain('scripted.example.test', msg(to), route(s));
    assert.deepEqual(r.outcomes.map((o) => o.kind), ['deferred', 'deferred']);
    assert.equal(r.outcomes[0]!.reply.enhanced, '4.4.2');
    assert.match(r.outcomes[0]!.reply.text, /Timed out waiting for the reply to RCPT TO:/);
  });

  test('garbage instead of a greeting: deferred, protocol error', async () => {
    const s = await scripted({ greeting: { garbage: 'HELLO? IS IT ME YOU ARE LOOKING FOR\r\n' } });
    const r = await deliverToDomain('scripted.example.test', msg(to), route(s));
    assert.equal(r.outcomes[0]!.kind, 'deferred');
    assert.equal(r.outcomes[0]!.reply.enhanced, '4.5.0');
  });

  test('garbage instead of the reply to MAIL: deferred', async () => {
    const s = await scripted({ mail: { garbage: 'xyzzy\r\n' }, extensions: [] });
    const r = await deliverToDomain('scripted.example.test', msg(to), route(s));
    assert.deepEqual(r.outcomes.map((o) => o.kind), ['deferred', 'deferred']);
  });

  test('421 in the middle of the session: deferred with the 421 reply', async () => {
    const s = await scripted({ rcpt: { close: true, reply: '421 4.3.2 Service shutting down' } });
    const r = await deliverToDomain('scripted.example.test', msg(to), route(s));
    assert.deepEqual(r.outcomes.map((o) => [o.kind, o.reply.code, o.reply.enhanced]), [
      ['deferred', 421, '4.3.2'],
      ['deferred', 421, '4.3.2'],
    ]);
  });

  test('connection dropped after the final dot: deferred, duplicate possible', async () => {
    const s = await scripted({ dataEnd: { close: true } });
    const r = await deliverToDomain('scripted.example.test', msg(to), route(s));
    assert.deepEqual(r.outcomes.map((o) => o.kind), ['deferred', 'deferred']);
    assert.match(r.outcomes[0]!.reply.text, /after the end of data.*duplicate is possible/);
    assert.equal(s.messages.length, 1);
  });

  test('a message over the announced SIZE fails at once without being sent', async () => {
    const s = await scripted({ extensions: ['PIPELINING', 'SIZE 100'] });
    const r = await deliverToDomain('scripted.example.test', msg(to), route(s));
    assert.deepEqual(r.outcomes.map((o) => [o.kind, o.reply.enhanced]), [['failed', '5.3.4'], ['failed', '5.3.4']]);
    assert.ok(!s.log[0]!.some((l) => /^MAIL/i.test(l)));
  });

  test('a message that needs SMTPUTF8, to a server without it: fails with 5.6.7', async () => {
    const s = await scripted({ extensions: ['8BITMIME'] });
    const r = await deliverToDomain('scripted.example.test', msg(to, { smtputf8: true }), route(s));
    assert.deepEqual(r.outcomes.map((o) => [o.kind, o.reply.enhanced]), [['failed', '5.6.7'], ['failed', '5.6.7']]);
  });

  test('a TLS handshake that fails: delivered in plaintext on a second connection', async () => {
    const s = await scripted({ extensions: ['PIPELINING', 'STARTTLS'], starttls: '220 2.0.0 Ready to start TLS', connections: 1 });
    const r = await deliverToDomain('scripted.example.test', msg(to), route(s));
    assert.deepEqual(r.outcomes.map((o) => [o.kind, o.tls]), [['delivered', false], ['delivered', false]]);
    assert.equal(s.log.length, 2);
    assert.ok(s.log[0]!.includes('STARTTLS'));
    assert.ok(!s.log[1]!.includes('STARTTLS'));
  });

  test('EHLO refused: HELO is used instead', async () => {
    const s = await scripted({ ehlo: '502 5.5.1 EHLO not supported' });
    const r = await deliverToDomain('scripted.example.test', msg(to), route(s));
    assert.deepEqual(r.outcomes.map((o) => o.kind), ['delivered', 'delivered']);
    assert.ok(s.log[0]!.some((l) => /^HELO outpost\.example\.test$/.test(l)));
  });

  test('a multi-line 550 reply is kept whole', async () => {
    const s = await scripted({ rcpt: (a) => (a.startsWith('a@') ? '550-5.7.1 first line\r\n550 5.7.1 second line' : '250 2.1.5 Ok') });
    const r = await deliverToDomain('scripted.example.test', msg(to), route(s));
    assert.equal(r.outcomes[0]!.kind, 'failed');
    assert.equal(r.outcomes[0]!.reply.enhanced, '5.7.1');
    assert.equal(r.outcomes[0]!.reply.text, 'first line second line');
    assert.equal(r.outcomes[1]!.kind, 'delivered');
  });
});
