/**
 * Scanning through `outpost serve` with real SMTP clients (swaks, Python smtplib): refusals
 * come at the end of DATA with their exact codes and nothing refused is queued.
 *
 * - No scanner configured: the built-in baseline refuses EICAR and GTUBE.
 * - clamd and rspamd (baseline off, so the daemons answer): EICAR plain, attached and zipped
 *   refused by clamd; GTUBE and the spam sample by rspamd; a clean message with a PDF is
 *   accepted and arrives with X-Spam-Score (add_header = true).
 * - clamd configured at an address where nothing listens: 451 4.7.1, nothing queued.
 *
 * The spam restriction would block 127.0.0.1 after three spam refusals; these gateways raise
 * limits.spam_messages so the cases stay independent (the restriction has its own tests).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MessageRow } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { pySend } from '../helpers/smtplib.js';
import { serverReplyAfter, swaks } from '../helpers/swaks.js';
import { EICAR, fixture, GTUBE, makePdf, makeZip, plain, withAttachments } from './messages.js';

const MX = '127.0.0.37'; // mx.d7.example.test
const RCPT = 'bob@d7.example.test';
const NO_SPAM_BLOCK = '[limits]\nspam_messages = 1000\n';

async function queued(gw: Gateway): Promise<MessageRow[]> {
  const store = new SqliteStore(gw.dataDir);
  try {
    return (await store.listMessages()).filter((m) => m.kind === 'message');
  } finally {
    await store.close();
  }
}

/** swaks with the message on standard input; returns the reply to the end of DATA. */
async function swaksData(gw: Gateway, data: Buffer): Promise<string> {
  const r = await swaks(['--server', `127.0.0.1:${gw.submissionPort}`, '--from', 'ann@example.net', '--to', RCPT,
    '--data', '-'], { input: data.toString('latin1') });
  return serverReplyAfter(r, 'DATA');
}

function send(gw: Gateway, data: Buffer, from = 'ann@example.net') {
  return pySend({ host: '127.0.0.1', port: gw.submissionPort, mode: 'plain', from, to: [RCPT], data });
}

describe('no scanner configured: the built-in baseline', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway({ toml: `${NO_SPAM_BLOCK}[delivery]\nport = ${await freePort(MX)}\n` });
  });
  after(async () => {
    await gw?.stop();
  });

  test('the start log names the active scanners', async () => {
    const line = await gw.waitForLog((l) => l.event === 'scanners');
    assert.deepEqual(line.active, ['baseline']);
  });

  test('EICAR (swaks): 554 5.7.1, not queued', async () => {
    assert.equal(await swaksData(gw, plain(EICAR)), '554 5.7.1 Message refused: malware found (Eicar-Test-Signature)');
    const refused = await gw.waitForLog((l) => l.event === 'refused' && l.stage === 'data' && l.code === 554);
    assert.equal(refused.scanner, 'baseline');
  });

  test('GTUBE (smtplib): 550 5.7.1', async () => {
    const r = await send(gw, plain(GTUBE));
    assert.equal(r.ok, false);
    assert.equal(r.code, 550);
    assert.equal(r.message, '5.7.1 Message refused as spam (GTUBE test string)');
  });

  test('an executable inside a ZIP: 554 5.7.1', async () => {
    const zip = makeZip([{ name: 'invoice.pdf.exe', data: Buffer.from('MZ') }]);
    const r = await send(gw, withAttachments('invoice', [{ filename: 'invoice.zip', contentType: 'application/zip', data: zip }]));
    assert.equal(r.code, 554);
    assert.match(r.message!, /^5\.7\.1 Message refused: attachment "invoice\.pdf\.exe" is of a type that is not accepted/);
  });

  test('a clean message with a PDF is accepted; only it is queued', async () => {
    const r = await send(gw, withAttachments('report', [{ filename: 'report.pdf', contentType: 'application/pdf', data: makePdf() }]));
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.code, 250);
    assert.deepEqual((await queued(gw)).map((m) => m.id), [r.queueId]);
  });
});

describe('clamd and rspamd', () => {
  let gw: Gateway;
  let rec: Recorder;
  before(async () => {
    rec = await startRecorder(MX, await freePort(MX));
    gw = await startGateway({
      toml: `${NO_SPAM_BLOCK}[delivery]\nport = ${rec.port}\n[queue]\npoll_interval = "200ms"\n` +
        '[scan.baseline]\nenabled = false\n' +
        '[scan.clamd]\naddress = "127.0.0.1:3310"\n' +
        '[scan.rspamd]\nurl = "http://127.0.0.1:11333"\nreject_score = 10\nadd_header = true\n',
    });
  });
  after(async () => {
    await gw?.stop();
    await rec?.stop();
  });

  test('the start log names clamd and rspamd', async () => {
    assert.deepEqual((await gw.waitForLog((l) => l.event === 'scanners')).active, ['clamd', 'rspamd']);
  });

  const EICAR_REPLY = /^554 5\.7\.1 Message refused: malware found \(Test\.EICAR\.\w+\.UNOFFICIAL\)$/;

  test('EICAR as the body (swaks): 554 5.7.1 naming what clamd found', async () => {
    assert.match(await swaksData(gw, plain(EICAR)), EICAR_REPLY);
  });

  test('EICAR as an attachment (smtplib): 554 5.7.1', async () => {
    const r = await send(gw, withAttachments('x', [{ filename: 'eicar.com', contentType: 'application/octet-stream', data: EICAR }]));
    assert.match(`${r.code} ${r.message}`, EICAR_REPLY);
  });

  test('EICAR inside a ZIP (smtplib): 554 5.7.1', async () => {
    const zip = makeZip([{ name: 'docs/eicar.txt', data: EICAR }]);
    const r = await send(gw, withAttachments('x', [{ filename: 'docs.zip', contentType: 'application/zip', data: zip }]));
    assert.match(`${r.code} ${r.message}`, EICAR_REPLY);
  });

  test('GTUBE (swaks): 550 5.7.1 from rspamd', async () => {
    assert.match(await swaksData(gw, plain(GTUBE)), /^550 5\.7\.1 Message refused as spam \(score 15\.00, limit 10\)$/);
  });

  test('the spam sample scores over reject_score = 10: 550 5.7.1', async () => {
    const r = await send(gw, fixture('spam.eml'), 'winner@example.net');
    assert.equal(r.code, 550);
    assert.match(r.message!, /^5\.7\.1 Message refused as spam \(score 1\d\.\d\d, limit 10\)$/);
  });

  test('nothing refused was queued; a clean message with a PDF arrives with X-Spam-Score', async () => {
    assert.equal((await queued(gw)).length, 0);
    const r = await send(gw, withAttachments('the report', [{ filename: 'report.pdf', contentType: 'application/pdf', data: makePdf() }]));
    assert.equal(r.code, 250, JSON.stringify(r));
    const [m] = await rec.waitForMessages(1, 30_000);
    const head = m!.data.toString('latin1').split('\r\n\r\n')[0]!;
    assert.match(head, /\r\nX-Spam-Score: \d+\.\d\d\r\n/);
    assert.equal((await queued(gw)).length, 1);
  });
});

describe('clamd unreachable', () => {
  let gw: Gateway;
  before(async () => {
    // A free port where nothing listens: the shared clamd keeps running for other tests.
    const port = await freePort();
    gw = await startGateway({ toml: `[delivery]\nport = ${await freePort(MX)}\n[scan.clamd]\naddress = "127.0.0.1:${port}"\ntimeout = "5s"\n` });
  });
  after(async () => {
    await gw?.stop();
  });

  test('a clean message gets 451 4.7.1 and is not queued', async () => {
    const r = await swaksData(gw, plain('hello, nothing bad here'));
    assert.equal(r, '451 4.7.1 Message could not be scanned (clamd unavailable); try again later');
    assert.equal((await queued(gw)).length, 0);
    const line = await gw.waitForLog((l) => l.event === 'scan_error');
    assert.equal(line.scanner, 'clamd');
    assert.equal(line.fail_open, false);
  });
});
