/**
 * Smoke tests of the shared test daemons and the receiving/sending helpers: if one of these
 * fails, the tests built on them cannot be trusted either.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { testResolver } from '../helpers/dns.js';
import { startRecorder, startSink } from '../helpers/receivers.js';
import { pySend } from '../helpers/smtplib.js';
import { serverReplyAfter, serverRepliesAfter, swaks } from '../helpers/swaks.js';

describe('test DNS', () => {
  const r = testResolver();

  test('MX records come with their preferences', async () => {
    const mx = (await r.resolveMx('two-mx.example.test')).sort((a, b) => a.priority - b.priority);
    assert.deepEqual(mx, [
      { exchange: 'mx-a.two-mx.example.test', priority: 10 },
      { exchange: 'mx-b.two-mx.example.test', priority: 20 },
    ]);
    assert.deepEqual(await r.resolve4('mx-b.two-mx.example.test'), ['127.0.0.12']);
    const equal = (await r.resolveMx('equal-mx.example.test')).map((m) => `${m.priority} ${m.exchange}`).sort();
    assert.deepEqual(equal, ['10 mx1.equal-mx.example.test', '10 mx2.equal-mx.example.test']);
  });

  test('null MX, NODATA, NXDOMAIN and SERVFAIL', async () => {
    assert.deepEqual(await r.resolveMx('null-mx.example.test'), [{ exchange: '', priority: 0 }]);
    await assert.rejects(r.resolveMx('a-only.example.test'), { code: 'ENODATA' });
    await assert.rejects(r.resolveMx('nx.example.test'), { code: 'ENOTFOUND' });
    await assert.rejects(r.resolveMx('servfail.example.test'), { code: 'ESERVFAIL' });
  });

  test('spare, IDN and IPv6-only domains', async () => {
    assert.deepEqual(await r.resolveMx('d7.example.test'), [{ exchange: 'mx.d7.example.test', priority: 10 }]);
    assert.deepEqual(await r.resolve4('mx.d7.example.test'), ['127.0.0.37']);
    assert.deepEqual(await r.resolve4('mx.xn--bcher-kva.example.test'), ['127.0.0.16']);
    assert.deepEqual(await r.resolve6('mx.v6only.example.test'), ['::1']);
    await assert.rejects(r.resolve4('mx.v6only.example.test'), { code: 'ENODATA' });
  });
});

describe('receivers and clients', () => {
  const stops: Array<() => Promise<void>> = [];
  after(async () => {
    for (const stop of stops) await stop();
  });

  test('swaks gets the recorder rule reply; the recorder keeps only the accepted recipient', async () => {
    const rec = await startRecorder('127.0.0.31', 0, { rules: [{ match: '^bad@', code: 550, text: '5.1.1 No such user' }] });
    stops.push(rec.stop);
    const r = await swaks([
      '--server', `127.0.0.31:${rec.port}`, '--from', 'a@example.test',
      '--to', 'bad@d1.example.test,good@d1.example.test', '--body', 'hello',
    ]);
    assert.deepEqual(serverRepliesAfter(r, 'RCPT'), ['550 5.1.1 No such user', '250 2.1.5 Ok']);
    assert.equal(serverReplyAfter(r, 'RCPT'), '550 5.1.1 No such user');
    assert.match(serverReplyAfter(r, 'DATA'), /^250 2\.0\.0 Ok: queued as R000001$/);
    assert.equal(r.last, '250 2.0.0 Ok: queued as R000001');
    assert.equal(r.code, 0);
    const [msg] = await rec.waitForMessages(1);
    assert.deepEqual(msg!.to, ['good@d1.example.test']);
    assert.equal(msg!.from, 'a@example.test');
  });

  test('the recorder keeps the exact bytes and the parameters as sent', async () => {
    const rec = await startRecorder('127.0.0.32', 0, { tls: true });
    stops.push(rec.stop);
    const data = Buffer.from('Subject: =?utf-8?q?x?=\r\n\r\n.leading dot\r\nbody \xe4\xf6 8bit\r\n', 'latin1');
    const res = await pySend({
      host: '127.0.0.32', port: rec.port, mode: 'starttls', from: 'a@example.test', to: ['b@d2.example.test'],
      data, mailOptions: ['BODY=8BITMIME'], rcptOptions: ['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;b@d2.example.test'],
    });
    assert.equal(res.ok, true);
    assert.equal(res.code, 250);
    assert.equal(res.queueId, 'R000001');
    const [msg] = await rec.waitForMessages(1);
    assert.ok(msg!.data.equals(data), `got ${JSON.stringify(msg!.data.toString('latin1'))}`);
    assert.deepEqual(msg!.mailOptions, ['BODY=8BITMIME']);
    assert.deepEqual(msg!.rcptOptions, ['NOTIFY=SUCCESS,FAILURE', 'ORCPT=rfc822;b@d2.example.test']);
    assert.equal(msg!.tls, true);
  });

  test('pySend reports refusals as data', async () => {
    const rec = await startRecorder('127.0.0.33', 0, {
      rules: [{ match: 'later@', code: 451, text: '4.3.0 Try later', times: 1 }],
      dataReply: { code: 554, text: '5.6.0 Content refused', times: 1 },
    });
    stops.push(rec.stop);
    const send = () => pySend({ host: '127.0.0.33', port: rec.port, mode: 'plain', from: 'a@example.test', to: ['later@d3.example.test'], data: 'Subject: x\r\n\r\nx\r\n' });
    const first = await send();
    assert.equal(first.ok, false);
    assert.equal(first.stage, 'rcpt');
    assert.deepEqual(first.recipients, { 'later@d3.example.test': { code: 451, message: '4.3.0 Try later' } });
    const second = await send();
    assert.equal(second.ok, false);
    assert.equal(second.code, 554);
    assert.equal(second.message, '5.6.0 Content refused');
    const third = await send();
    assert.equal(third.ok, true);
    assert.equal((await rec.messages()).length, 1);
    const rcpts = (await rec.events()).filter((e) => e.ev === 'rcpt').map((e) => e.reply);
    assert.deepEqual(rcpts, ['451 4.3.0 Try later', '250 2.1.5 Ok', '250 2.1.5 Ok']);
  });

  test('smtp-sink counts and dumps a message', async () => {
    const sink = await startSink('127.0.0.34', 0);
    stops.push(sink.stop);
    const r = await swaks(['--server', `127.0.0.34:${sink.port}`, '--from', 'a@example.test', '--to', 'b@d4.example.test', '--body', 'sink body']);
    assert.equal(r.code, 0);
    await sink.waitForCount(1);
    assert.equal(await sink.count(), 1);
    const [dump] = await sink.dumps();
    assert.equal(dump!.mailArgs, '<a@example.test>');
    assert.deepEqual(dump!.rcptArgs, ['<b@d4.example.test>']);
    assert.match(dump!.data.toString(), /\n\nsink body\n/);
  });
});

function talk(host: string, port: number, payload: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port }, () => s.end(payload));
    let out = '';
    s.setEncoding('utf8').on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out.replace(/\0/g, '')));
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error('clamd timeout')));
  });
}

describe('scanners', () => {
  test('clamd answers PING and finds EICAR', async () => {
    assert.equal(await talk('127.0.0.1', 3310, Buffer.from('zPING\0')), 'PONG');
    const eicar = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDA' + 'RD-ANTIVIRUS-TEST-FILE!$H+H*');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(eicar.length);
    const reply = await talk('127.0.0.1', 3310, Buffer.concat([Buffer.from('zINSTREAM\0'), len, eicar, Buffer.alloc(4)]));
    assert.match(reply, /^stream: Test\.EICAR\.(Body|Hash)\.UNOFFICIAL FOUND$/);
  });

  test('rspamd rejects GTUBE', async () => {
    const gtube = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STAND' + 'ARD-ANTI-UBE-TEST-EMAIL*C.34X';
    const res = await fetch('http://127.0.0.1:11333/checkv2', {
      method: 'POST',
      headers: { IP: '127.0.0.1', From: 'a@example.test', Rcpt: 'b@example.net' },
      body: `From: a@example.test\r\nTo: b@example.net\r\nSubject: test\r\nMessage-ID: <g@example.test>\r\n\r\n${gtube}\r\n`,
    });
    const json = (await res.json()) as { action: string; symbols: Record<string, unknown> };
    assert.equal(json.action, 'reject');
    assert.ok('GTUBE' in json.symbols);
  });
});
