/**
 * The clamd scanner against the real clamd (127.0.0.1:3310, EICAR-only signature database
 * from scripts/peers/start-clamd.sh) and, for the unix socket, a private clamd started here on
 * a socket in a temp dir. clamd unpacks MIME and ZIP itself: the ZIP is a real one from
 * Python's zipfile module.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClamdScanner, parseClamdReply } from '../../src/scan/clamd.js';
import type { ScanVerdict } from '../../src/scan/scanner.js';
import { freePort } from '../helpers/ports.js';
import { childEnv, terminate, trackChild, trackTempDir } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';
import { EICAR, ENVELOPE, makePdf, makeZip, plain, withAttachments } from './messages.js';

const CLAMD = '127.0.0.1:3310';
const clamd = new ClamdScanner({ address: CLAMD, timeoutMs: 20_000, failOpen: false });
const scan = (m: Buffer, s = clamd) => s.scan(m, ENVELOPE);

function assertMalware(v: ScanVerdict): void {
  assert.equal(v.kind, 'reject', JSON.stringify(v));
  if (v.kind !== 'reject') return;
  assert.equal(v.reason, 'malware');
  assert.equal(v.reply.code, 554);
  assert.equal(v.reply.enhanced, '5.7.1');
  assert.match(v.reply.text, /^Message refused: malware found \(Test\.EICAR\.\w+\.UNOFFICIAL\)$/);
}

function assertUnavailable(v: ScanVerdict): void {
  assert.equal(v.kind, 'unavailable', JSON.stringify(v));
  if (v.kind !== 'unavailable') return;
  assert.equal(v.reply.code, 451);
  assert.equal(v.reply.enhanced, '4.7.1');
  assert.match(v.reply.text, /clamd unavailable/);
}

describe('clamd over TCP', () => {
  test('EICAR as the plain body: 554 5.7.1 naming the signature', async () => {
    assertMalware(await scan(plain(EICAR)));
  });

  test('EICAR as a base64 attachment', async () => {
    const m = withAttachments('see attached', [{ filename: 'eicar.com', contentType: 'application/octet-stream', data: EICAR }]);
    assertMalware(await scan(m));
  });

  test('EICAR inside a ZIP attachment', async () => {
    const zip = makeZip([{ name: 'notes.txt', data: Buffer.from('notes\n') }, { name: 'test/eicar.com', data: EICAR }]);
    assert.equal(zip.includes(EICAR), false, 'deflated: the string is not in the archive as such');
    const m = withAttachments('archive', [{ filename: 'archive.zip', contentType: 'application/zip', data: zip }]);
    assertMalware(await scan(m));
  });

  test('a clean multipart message with a PDF passes', async () => {
    const m = withAttachments('the report', [{ filename: 'report.pdf', contentType: 'application/pdf', data: makePdf() }]);
    assert.deepEqual(await scan(m), { kind: 'clean' });
  });

  test('a 30 MB message is streamed in chunks and passes', async () => {
    const big = Buffer.alloc(30 * 1024 * 1024, 'abcdefghij0123456789\r\n');
    assert.deepEqual(await scan(plain(big)), { kind: 'clean' });
  });
});

describe('clamd not answering', () => {
  test('nothing listens on the port: 451 4.7.1', async () => {
    const port = await freePort();
    const s = new ClamdScanner({ address: `127.0.0.1:${port}`, timeoutMs: 5000, failOpen: false });
    assertUnavailable(await scan(plain('hello'), s));
  });

  test('with fail_open the message passes unscanned', async () => {
    const port = await freePort();
    const s = new ClamdScanner({ address: `127.0.0.1:${port}`, timeoutMs: 5000, failOpen: true });
    assert.deepEqual(await scan(plain(EICAR), s), { kind: 'clean' });
  });

  test('a daemon that accepts and never answers: 451 4.7.1 after the time-out', async () => {
    // No real clamd hangs on demand: a socket that reads and stays silent stands in.
    const silent = net.createServer((sock) => sock.on('data', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const s = new ClamdScanner({ address: `127.0.0.1:${port}`, timeoutMs: 300, failOpen: false });
      const v = await scan(plain('hello'), s);
      assertUnavailable(v);
      assert.match((v as { detail: string }).detail, /no answer within 300 ms/);
    } finally {
      silent.close();
    }
  });

  test('reply lines', () => {
    assert.deepEqual(parseClamdReply('stream: OK\0'), { kind: 'ok' });
    assert.deepEqual(parseClamdReply('stream: Win.Test.EICAR_HDB-1 FOUND\0'), { kind: 'found', name: 'Win.Test.EICAR_HDB-1' });
    assert.deepEqual(parseClamdReply('INSTREAM size limit exceeded. ERROR\0'),
      { kind: 'error', message: 'clamd: INSTREAM size limit exceeded. ERROR' });
  });
});

describe('clamd over a unix socket', () => {
  let child: ChildProcess | null = null;
  let socketPath = '';

  before(async () => {
    const dir = trackTempDir(mkdtempSync(path.join(os.tmpdir(), 'outpost-clamd-')));
    mkdirSync(path.join(dir, 'db'));
    // The same signatures as the shared clamd: EICAR anywhere (.ndb) and by hash (.hdb).
    writeFileSync(path.join(dir, 'db', 'test.ndb'), `Test.EICAR.Body:0:*:${EICAR.toString('hex')}\n`);
    writeFileSync(path.join(dir, 'db', 'test.hdb'), `${createHash('md5').update(EICAR).digest('hex')}:68:Test.EICAR.Hash\n`);
    socketPath = path.join(dir, 'clamd.sock');
    writeFileSync(path.join(dir, 'clamd.conf'), [
      `DatabaseDirectory ${dir}/db`, `LocalSocket ${socketPath}`, 'Foreground yes', 'SelfCheck 0',
      `LogFile ${dir}/clamd.log`, 'MaxThreads 2', '',
    ].join('\n'));
    child = trackChild(spawn('clamd', [`--config-file=${dir}/clamd.conf`], { env: childEnv(), stdio: 'ignore' }));
    await waitFor(() => existsSync(socketPath), { timeout: 30_000, what: 'clamd socket' });
  });

  after(async () => {
    if (child) await terminate(child);
  });

  test('EICAR found, clean message passes', async () => {
    const s = new ClamdScanner({ address: socketPath, timeoutMs: 20_000, failOpen: false });
    assertMalware(await scan(plain(EICAR), s));
    assert.deepEqual(await scan(plain('hello'), s), { kind: 'clean' });
  });
});
