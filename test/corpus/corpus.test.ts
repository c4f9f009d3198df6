/**
 * Real messages end to end: every file of the corpus (fixtures/, see fixtures/INDEX.md) is
 * submitted the way a mail program sends it and must arrive at the receiver byte for byte,
 * apart from the trace headers the gateway puts in front (Received, and Message-ID and Date
 * when the message had none).
 *
 * - A file with CRLF line ends is sent as it is; one with bare LF ends is sent with LF turned
 *   into CRLF (what any client does).
 * - A file with mixed or bare-CR line ends is sent as it is and must be refused (5.6.2).
 * - A line over 998 octets (RFC 5322 2.1.1) must be refused at submission (5.6.0).
 * Messages go over four connections at once (smtplib), to keep the test fast.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { REPO_ROOT } from '../helpers/procs.js';
import { startRecorder, type RecordedMessage, type Recorder } from '../helpers/receivers.js';
import { smtplib } from '../helpers/smtplib.js';
import { waitFor } from '../helpers/wait.js';

const DIR = path.join(REPO_ROOT, 'test', 'corpus', 'fixtures');
const MX = '127.0.0.31'; // d1.example.test
const CONNECTIONS = 4;

type Eol = 'crlf' | 'lf' | 'mixed';

interface Case {
  file: string;
  rcpt: string;
  eol: Eol;
  /** The bytes as the client sends them (before the final CRLF smtplib adds when missing). */
  sent: Buffer;
  /** What must reach the receiver after the gateway's added headers. */
  expected: Buffer;
  longLine: boolean;
  mailOptions: string[];
}

function eolOf(b: Buffer): Eol {
  let crlf = 0;
  let lf = 0;
  let cr = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x0d) {
      if (b[i + 1] === 0x0a) {
        crlf++;
        i++;
      } else cr++;
    } else if (b[i] === 0x0a) lf++;
  }
  if (cr === 0 && lf === 0) return 'crlf';
  if (cr === 0 && crlf === 0) return 'lf';
  return 'mixed';
}

function hasLongLine(b: Buffer): boolean {
  let start = 0;
  for (let i = 0; i <= b.length; i++) {
    if (i === b.length || b[i] === 0x0a) {
      const end = i > start && b[i - 1] === 0x0d ? i - 1 : i;
      if (end - start > 998) return true;
      start = i + 1;
    }
  }
  return false;
}

function loadCases(): Case[] {
  return readdirSync(DIR).filter((f) => f.endsWith('.eml')).sort().map((file, i) => {
    const raw = readFileSync(path.join(DIR, file));
    const eol = eolOf(raw);
    const sent = eol === 'lf' ? Buffer.from(raw.toString('latin1').replace(/\n/g, '\r\n'), 'latin1') : raw;
    const expected = sent.subarray(-2).equals(Buffer.from('\r\n')) ? sent : Buffer.concat([sent, Buffer.from('\r\n')]);
    const headEnd = sent.indexOf('\r\n\r\n');
    const head = headEnd < 0 ? sent : sent.subarray(0, headEnd);
    const mailOptions: string[] = [];
    if (sent.some((c) => c > 0x7f)) mailOptions.push('BODY=8BITMIME');
    if (head.some((c) => c > 0x7f)) mailOptions.push('SMTPUTF8');
    return { file, rcpt: `c${String(i + 1).padStart(3, '0')}@d1.example.test`, eol, sent, expected, longLine: hasLongLine(sent), mailOptions };
  });
}

const SEND_PY = String.raw`
import base64, json, smtplib, sys
p = json.load(sys.stdin)
s = smtplib.SMTP(p["host"], p["port"], timeout=60)
s.ehlo("client.example.test")
out = {}
for m in p["messages"]:
    try:
        code, msg = s.mail(p["from"], m["options"])
        if code != 250:
            out[m["rcpt"]] = [code, msg.decode("utf-8", "replace")]
            s.rset()
            continue
        code, msg = s.rcpt(m["rcpt"])
        if code != 250:
            out[m["rcpt"]] = [code, msg.decode("utf-8", "replace")]
            s.rset()
            continue
        code, msg = s.data(base64.b64decode(m["data"]))
        out[m["rcpt"]] = [code, msg.decode("utf-8", "replace")]
    except smtplib.SMTPResponseException as e:
        out[m["rcpt"]] = [e.smtp_code, e.smtp_error.decode("utf-8", "replace")]
s.quit()
print(json.dumps(out))
`;

/** Files that are no message at all (no header field): the baseline scan refuses them. */
const NOT_A_MESSAGE = new Set(['052-malformed-26-bytes-no-eol.eml']);
const WHY = { eol: 'mixed or bare CR line ends', long: 'line over 998 octets', nothing: 'no header fields' };
const EXPECTED = {
  // A file with bare CRs only is one long line to a reader that ends lines at LF: either
  // refusal (5.6.2 bare CR, 5.6.0 line too long) keeps it from being relayed.
  eol: /^5\.6\.[02] /,
  long: /^5\.6\.0 /,
  nothing: /^5\.6\.0 /,
};

let gw: Gateway;
let rec: Recorder;
const cases = loadCases();
const replies = new Map<string, [number, string]>();
let received = new Map<string, RecordedMessage>();

before(async () => {
  const port = await freePort(MX);
  rec = await startRecorder(MX, port);
  // A short retry schedule: on a loaded machine a first attempt may time out, and the test
  // is about the bytes that arrive, not about when.
  gw = await startGateway({
    toml: `[delivery]\nport = ${port}\n[queue]\npoll_interval = "200ms"\n[retry]\nschedule = ["2s until 5m"]\n`,
  });

  const groups: Case[][] = Array.from({ length: CONNECTIONS }, () => []);
  cases.forEach((c, i) => groups[i % CONNECTIONS]!.push(c));
  await Promise.all(groups.map(async (g) => {
    const input = JSON.stringify({
      host: '127.0.0.1', port: gw.submissionPort, from: 'ann@example.net',
      messages: g.map((c) => ({ rcpt: c.rcpt, options: c.mailOptions, data: c.sent.toString('base64') })),
    });
    const r = await smtplib(SEND_PY, input, 120_000);
    assert.equal(r.code, 0, r.stderr);
    for (const [rcpt, reply] of Object.entries(JSON.parse(r.stdout) as Record<string, [number, string]>)) replies.set(rcpt, reply);
  }));

  const accepted = [...replies.values()].filter(([code]) => code === 250).length;
  const got = await rec.waitForMessages(accepted, 120_000).catch((err: Error) => {
    const trouble = gw.logs.filter((l) => l.event === 'attempt' && l.result !== 'delivered');
    throw new Error(`${err.message}; attempts not delivered: ${JSON.stringify(trouble.slice(0, 5))}`);
  });
  received = new Map(got.map((m) => [m.to[0]!, m]));
});

after(async () => {
  await gw?.stop();
  await rec?.stop();
});

describe('the corpus, submitted and relayed', () => {
  test('all 62 files are in the fixtures', () => {
    assert.equal(cases.length, 62);
    assert.equal(replies.size, 62);
  });

  for (const c of cases) {
    const refuse = c.eol === 'mixed' ? 'eol' : c.longLine ? 'long' : NOT_A_MESSAGE.has(c.file) ? 'nothing' : null;
    test(`${c.file}: ${refuse ? `refused (${WHY[refuse]})` : 'arrives unchanged'}`, () => {
      const [code, text] = replies.get(c.rcpt)!;
      if (refuse) {
        assert.equal(code, 550, `${c.file}: ${code} ${text}`);
        assert.match(text, EXPECTED[refuse]);
        assert.equal(received.has(c.rcpt), false);
        return;
      }
      assert.equal(code, 250, `${c.file}: ${code} ${text}`);
      const got = received.get(c.rcpt);
      assert.ok(got, `${c.file} did not arrive`);
      const data = got.data;
      assert.ok(data.length >= c.expected.length && data.subarray(data.length - c.expected.length).equals(c.expected),
        `${c.file}: the bytes after the added headers differ from what was sent`);
      // What comes before the client's bytes: only the gateway's own header lines.
      const added = data.subarray(0, data.length - c.expected.length).toString('utf8');
      const names = added.split('\r\n').filter((l) => l && !/^[ \t]/.test(l)).map((l) => l.slice(0, l.indexOf(':')));
      assert.equal(names[0], 'Received');
      for (const n of names.slice(1)) assert.ok(n === 'Message-ID' || n === 'Date', `${c.file}: unexpected added header ${n}`);
      assert.ok(added.endsWith('\r\n') || added === '');
    });
  }
});
