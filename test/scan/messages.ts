/**
 * Test messages for the scanners: plain and multipart messages with CRLF line ends, real ZIP
 * archives made by Python's zipfile module, a small valid PDF, and the samples from the peers
 * (fixtures/ham.eml, fixtures/spam.eml). EICAR and GTUBE come from src/scan/patterns.ts,
 * which builds them from halves.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/procs.js';

export { EICAR, GTUBE } from '../../src/scan/patterns.js';

export const FIXTURES = path.join(REPO_ROOT, 'test', 'scan', 'fixtures');

export function fixture(name: string): Buffer {
  return Buffer.from(readFileSync(path.join(FIXTURES, name)).toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

const HEAD = [
  'From: Ann Example <ann@example.net>',
  'To: Bob Example <bob@d1.example.test>',
  'Date: Thu, 03 Dec 2026 10:00:00 +0000',
  'Message-ID: <scan-test@example.net>',
];

export function plain(body: string | Buffer, subject = 'Test message', extraHeaders: string[] = []): Buffer {
  return Buffer.concat([
    Buffer.from([...HEAD, `Subject: ${subject}`, ...extraHeaders, 'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii', '', ''].join('\r\n'), 'latin1'),
    Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'),
    Buffer.from('\r\n'),
  ]);
}

export interface Attachment {
  filename: string;
  contentType: string;
  data: Buffer;
  /** Put the name only into Content-Type (name=), not into Content-Disposition. */
  nameOnlyInType?: boolean;
}

function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

export function withAttachments(text: string, attachments: Attachment[], subject = 'With attachment'): Buffer {
  const boundary = '----=_outpost_scan_test_boundary';
  const parts = [
    [...HEAD, `Subject: ${subject}`, 'MIME-Version: 1.0', `Content-Type: multipart/mixed; boundary="${boundary}"`, '',
      'This is a multi-part message in MIME format.', ''].join('\r\n'),
    [`--${boundary}`, 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 7bit', '', text, ''].join('\r\n'),
  ];
  for (const a of attachments) {
    const type = a.nameOnlyInType ? `${a.contentType}; name="${a.filename}"` : a.contentType;
    const disp = a.nameOnlyInType ? 'attachment' : `attachment; filename="${a.filename}"`;
    parts.push([`--${boundary}`, `Content-Type: ${type}`, 'Content-Transfer-Encoding: base64',
      `Content-Disposition: ${disp}`, '', base64Lines(a.data), ''].join('\r\n'));
  }
  parts.push(`--${boundary}--\r\n`);
  return Buffer.from(parts.join('\r\n'), 'latin1');
}

/** A real ZIP archive (deflated entries) written by Python's zipfile module. */
export function makeZip(entries: Array<{ name: string; data: Buffer }>): Buffer {
  const script = String.raw`
import base64, io, json, sys, zipfile
entries = json.load(sys.stdin)
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    for e in entries:
        z.writestr(e["name"], base64.b64decode(e["data"]))
sys.stdout.write(base64.b64encode(buf.getvalue()).decode())
`;
  const input = JSON.stringify(entries.map((e) => ({ name: e.name, data: e.data.toString('base64') })));
  const r = spawnSync('/usr/bin/python3', ['-c', script], { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python zipfile failed: ${r.stderr}`);
  return Buffer.from(r.stdout, 'base64');
}

/** A small, valid one-page PDF (cross-reference offsets computed). */
export function makePdf(text = 'Quarterly report'): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    null,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const stream = `BT /F1 24 Tf 72 700 Td (${text}) Tj ET`;
  objects[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

export const ENVELOPE = {
  sessionId: 'test-session',
  clientIp: '127.0.0.1',
  heloName: 'client.example.test',
  sender: 'ann@example.net',
  recipients: ['bob@d1.example.test'],
  authUser: null,
};
