/**
 * The built-in scanner on its own: the test strings, executable attachments (also inside real
 * ZIP archives made by Python's zipfile), structural faults, and the whole corpus of real
 * messages, of which only the ones that are no message at all may be refused.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { BaselineScanner } from '../../src/scan/baseline.js';
import { buildScanners } from '../../src/scan/index.js';
import type { ScanVerdict } from '../../src/scan/scanner.js';
import { listZip, readEntry } from '../../src/scan/zip.js';
import { configSchema } from '../../src/config/schema.js';
import { REPO_ROOT } from '../helpers/procs.js';
import { EICAR, ENVELOPE, GTUBE, fixture, makePdf, makeZip, plain, withAttachments } from './messages.js';

const cfg = configSchema.parse({});
const scanner = new BaselineScanner({ blockedExtensions: cfg.scan.baseline.blocked_extensions });
const scan = (m: Buffer) => scanner.scan(m, ENVELOPE);

function assertRefused(v: ScanVerdict, code: number, enhanced: string, reason: string, text?: RegExp): void {
  assert.equal(v.kind, 'reject', JSON.stringify(v));
  if (v.kind !== 'reject') return;
  assert.equal(v.reply.code, code);
  assert.equal(v.reply.enhanced, enhanced);
  assert.equal(v.reason, reason);
  if (text) assert.match(v.reply.text, text);
}

describe('baseline: test strings', () => {
  test('EICAR as the plain body: 554 5.7.1 malware', async () => {
    assertRefused(await scan(plain(EICAR)), 554, '5.7.1', 'malware', /malware found \(Eicar-Test-Signature\)/);
  });

  test('EICAR as a base64 attachment: 554 5.7.1', async () => {
    const m = withAttachments('see attached', [{ filename: 'eicar.com.txt', contentType: 'application/octet-stream', data: EICAR }]);
    assert.equal(m.includes(EICAR), false, 'the raw message must not contain the string itself');
    assertRefused(await scan(m), 554, '5.7.1', 'malware', /Eicar-Test-Signature/);
  });

  test('EICAR inside a deflated ZIP attachment: 554 5.7.1', async () => {
    const zip = makeZip([{ name: 'readme.txt', data: Buffer.from('hello\n') }, { name: 'eicar.txt', data: EICAR }]);
    const m = withAttachments('archive attached', [{ filename: 'files.zip', contentType: 'application/zip', data: zip }]);
    assertRefused(await scan(m), 554, '5.7.1', 'malware');
  });

  test('EICAR in a ZIP inside a ZIP: 554 5.7.1', async () => {
    const inner = makeZip([{ name: 'eicar.txt', data: EICAR }]);
    const outer = makeZip([{ name: 'inner.zip', data: inner }]);
    const m = withAttachments('archive attached', [{ filename: 'outer.zip', contentType: 'application/zip', data: outer }]);
    assertRefused(await scan(m), 554, '5.7.1', 'malware');
  });

  test('GTUBE: 550 5.7.1 spam', async () => {
    assertRefused(await scan(plain(GTUBE)), 550, '5.7.1', 'spam', /as spam \(GTUBE/);
  });

  test('GTUBE in a base64 text part: 550 5.7.1 spam', async () => {
    const m = withAttachments('hello', [{ filename: 'note.txt', contentType: 'text/plain', data: GTUBE }]);
    assertRefused(await scan(m), 550, '5.7.1', 'spam');
  });

  test('a string split across the parser chunks is still found', async () => {
    // 64 KiB slices: put the test string across the first boundary.
    const pad = Buffer.alloc(65536 - 400 - 30, 'a');
    const body = Buffer.concat([pad, EICAR, Buffer.from('\r\n')]);
    const m = withAttachments('x', [{ filename: 'data.bin', contentType: 'application/octet-stream', data: body }]);
    assertRefused(await scan(m), 554, '5.7.1', 'malware');
  });
});

describe('baseline: executable attachments', () => {
  const exe = Buffer.from('MZ\x90\x00 not really a program', 'latin1');

  test('invoice.exe: 554 5.7.1 naming the file', async () => {
    const m = withAttachments('pay now', [{ filename: 'invoice.exe', contentType: 'application/octet-stream', data: exe }]);
    assertRefused(await scan(m), 554, '5.7.1', 'content', /"invoice\.exe" is of a type that is not accepted/);
  });

  test('name only in Content-Type, upper case, trailing dot', async () => {
    const m = withAttachments('x', [{ filename: 'SETUP.SCR.', contentType: 'application/octet-stream', data: exe, nameOnlyInType: true }]);
    assertRefused(await scan(m), 554, '5.7.1', 'content');
  });

  test('RFC 2047 encoded name', async () => {
    const m = withAttachments('x', [{ filename: '=?utf-8?B?cmVjaG51bmcuanM=?=', contentType: 'application/javascript', data: exe }]);
    assertRefused(await scan(m), 554, '5.7.1', 'content', /rechnung\.js/);
  });

  test('an executable inside a ZIP: 554 5.7.1 naming the entry', async () => {
    const zip = makeZip([{ name: 'docs/readme.txt', data: Buffer.from('hi') }, { name: 'docs/run.vbs', data: exe }]);
    const m = withAttachments('x', [{ filename: 'docs.zip', contentType: 'application/zip', data: zip }]);
    assertRefused(await scan(m), 554, '5.7.1', 'content', /docs\/run\.vbs/);
  });

  test('a ZIP with a harmless name is recognised by its content', async () => {
    const zip = makeZip([{ name: 'tool.exe', data: exe }]);
    const m = withAttachments('x', [{ filename: 'photos.dat', contentType: 'application/octet-stream', data: zip }]);
    assertRefused(await scan(m), 554, '5.7.1', 'content', /tool\.exe/);
  });

  test('a PDF, a ZIP of documents and a .exe.txt pass', async () => {
    const zip = makeZip([{ name: 'report.pdf', data: makePdf() }, { name: 'notes.txt', data: Buffer.from('x') }]);
    const m = withAttachments('reports attached', [
      { filename: 'report.pdf', contentType: 'application/pdf', data: makePdf() },
      { filename: 'reports.zip', contentType: 'application/zip', data: zip },
      { filename: 'setup.exe.txt', contentType: 'text/plain', data: Buffer.from('the log') },
    ]);
    assert.deepEqual(await scan(m), { kind: 'clean' });
  });

  test('the configured list is used (blocked_extensions)', async () => {
    const own = new BaselineScanner({ blockedExtensions: ['.PDF'] });
    const m = withAttachments('x', [{ filename: 'report.pdf', contentType: 'application/pdf', data: makePdf() }]);
    assertRefused(await own.scan(m, ENVELOPE), 554, '5.7.1', 'content');
    const exeOk = withAttachments('x', [{ filename: 'a.exe', contentType: 'application/octet-stream', data: exe }]);
    assert.equal((await own.scan(exeOk, ENVELOPE)).kind, 'clean');
  });
});

describe('baseline: structural faults (550 5.6.0)', () => {
  test('a NUL byte in a header field', async () => {
    assertRefused(await scan(plain('hi', 'bad\0subject')), 550, '5.6.0', 'content', /NUL byte in a header field/);
  });

  test('no header fields at all', async () => {
    assertRefused(await scan(Buffer.from('\r\njust a body\r\n')), 550, '5.6.0', 'content', /no header fields/);
    assertRefused(await scan(Buffer.from('just text, no header\r\nsecond line\r\n')), 550, '5.6.0', 'content', /no header fields/);
  });

  test('two From fields', async () => {
    const m = plain('hi', 'x', ['From: Mallory <ceo@bank.example.test>']);
    assertRefused(await scan(m), 550, '5.6.0', 'content', /more than one From field/);
  });

  test('MIME parts nested 40 levels deep', async () => {
    let body = 'Content-Type: text/plain\r\n\r\ndeep\r\n';
    for (let i = 0; i < 40; i++) {
      body = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${body}--b${i}--\r\n`;
    }
    const m = Buffer.from(`From: a@example.net\r\nSubject: deep\r\nMIME-Version: 1.0\r\n${body}`);
    assertRefused(await scan(m), 550, '5.6.0', 'content', /nested more than 32 levels/);
  });

  test('a missing From field passes (scripts send such messages)', async () => {
    const m = Buffer.from('To: bob@d1.example.test\r\nSubject: from a script\r\n\r\nhello\r\n');
    assert.deepEqual(await scan(m), { kind: 'clean' });
  });

  test('NUL bytes in a binary body pass', async () => {
    const m = plain(Buffer.from('T\0e\0s\0t\0\r\n', 'latin1'));
    assert.deepEqual(await scan(m), { kind: 'clean' });
  });
});

describe('baseline: samples and the corpus', () => {
  test('the ham and spam samples pass (spam is for rspamd to judge)', async () => {
    assert.deepEqual(await scan(fixture('ham.eml')), { kind: 'clean' });
    assert.deepEqual(await scan(fixture('spam.eml')), { kind: 'clean' });
  });

  // Bare LF is sent as CRLF by every client; mixed and bare-CR files never get this far
  // (refused at DATA, 5.6.2), but the scanner must still give a verdict for them.
  const dir = path.join(REPO_ROOT, 'test', 'corpus', 'fixtures');
  const files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
  /**
   * The only refusals: 052 is "// Not an RFC-822 Document", no header field at all; 034 has
   * bare CR line ends only, so it is one line without a header field to any reader (and
   * submission refuses it for the bare CRs before the scan).
   */
  const REFUSED: Record<string, RegExp> = {
    '052-malformed-26-bytes-no-eol.eml': /no header fields/,
    '034-dsn-postfix-bare-cr.eml': /no header fields/,
  };

  test('all 62 corpus files are there', () => assert.equal(files.length, 62));

  test('no corpus message is refused except the two that are no message', async () => {
    const refused: Record<string, string> = {};
    for (const f of files) {
      const raw = readFileSync(path.join(dir, f));
      const crlf = Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
      for (const m of [crlf, raw]) {
        const v = await scan(m);
        if (v.kind === 'unavailable') assert.fail(`${f}: ${v.detail}`);
        if (v.kind === 'reject') refused[f] = v.reply.text;
      }
    }
    assert.deepEqual(Object.keys(refused).sort(), Object.keys(REFUSED).sort());
    for (const [f, re] of Object.entries(REFUSED)) assert.match(refused[f]!, re);
  });
});

describe('zip reader', () => {
  test('lists names and inflates entries of a Python-made archive', () => {
    const zip = makeZip([{ name: 'a.txt', data: Buffer.from('alpha') }, { name: 'dir/b.bin', data: Buffer.alloc(5000, 7) }]);
    const entries = listZip(zip)!;
    assert.deepEqual(entries.map((e) => [e.name, e.size]), [['a.txt', 5], ['dir/b.bin', 5000]]);
    assert.equal(readEntry(zip, entries[0]!, 100)!.toString(), 'alpha');
    assert.equal(readEntry(zip, entries[1]!, 100), null, 'over the size cap');
    assert.equal(listZip(Buffer.from('PK\x03\x04 broken', 'latin1')), null);
  });
});

describe('buildScanners', () => {
  test('defaults: the baseline alone; with daemons: baseline, clamd, rspamd in that order', () => {
    assert.deepEqual(buildScanners(cfg).map((s) => s.name), ['baseline']);
    const full = configSchema.parse({
      scan: { clamd: { address: '127.0.0.1:3310' }, rspamd: { url: 'http://127.0.0.1:11333' } },
    });
    assert.deepEqual(buildScanners(full).map((s) => s.name), ['baseline', 'clamd', 'rspamd']);
    const off = configSchema.parse({ scan: { baseline: { enabled: false } } });
    assert.deepEqual(buildScanners(off).map((s) => s.name), []);
  });
});
