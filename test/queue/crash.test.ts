/**
 * Crash safety: the gateway is killed (SIGKILL) while it delivers, then started again on the
 * same data. Every accepted message must arrive; one whose connection was cut after the
 * final dot may arrive twice (the only place a duplicate is allowed), none may be missing.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { smtplib } from '../helpers/smtplib.js';
import { waitFor } from '../helpers/wait.js';

const MX = '127.0.0.32'; // d2.example.test
const COUNT = 30;

let gw: Gateway | undefined;
let rec: Recorder | undefined;

after(async () => {
  await gw?.stop();
  await rec?.stop();
});

const SEND_PY = String.raw`
import json, smtplib, sys
p = json.load(sys.stdin)
s = smtplib.SMTP(p["host"], p["port"], timeout=30)
s.ehlo("client.example.test")
ids = []
for i in range(p["count"]):
    data = "From: ann@example.net\r\nTo: crash@d2.example.test\r\nSubject: crash-%03d\r\n\r\nmessage %d\r\n" % (i, i)
    code, msg = s.mail("ann@example.net")
    s.rcpt("crash-%03d@d2.example.test" % i)
    code, msg = s.data(data.encode())
    ids.append([code, msg.decode()])
s.quit()
print(json.dumps(ids))
`;

test('SIGKILL during delivery, then restart: every message delivered, nothing lost', async () => {
  const port = await freePort(MX);
  // Each message takes 300 ms at the receiver, so the kill lands in the middle of deliveries.
  rec = await startRecorder(MX, port, { dataDelayMs: 300 });
  gw = await startGateway({
    toml: `[delivery]\nport = ${port}\nmax_per_destination = 3\n[queue]\nlease = "2s"\npoll_interval = "200ms"\n`,
  });

  const r = await smtplib(SEND_PY, JSON.stringify({ host: '127.0.0.1', port: gw.submissionPort, count: COUNT }));
  assert.equal(r.code, 0, r.stderr);
  const replies = JSON.parse(r.stdout) as Array<[number, string]>;
  assert.deepEqual(replies.map(([code]) => code), Array(COUNT).fill(250));

  await rec.waitForMessages(3, 20_000);
  await gw.kill();
  const before = (await rec.messages()).length;
  assert.ok(before < COUNT, `all ${before} delivered before the kill; the test proves nothing`);

  gw = await gw.restart();
  await waitFor(async () => {
    const l = await gw!.cli(['queue', 'list', '--json']);
    return l.code === 0 && JSON.parse(l.stdout).length === 0;
  }, { timeout: 60_000, interval: 300, what: 'every message finished after the restart' });

  const got = await rec.messages();
  const subjects = new Set(got.map((m) => /Subject: (crash-\d+)/.exec(m.data.toString())![1]));
  assert.equal(subjects.size, COUNT, `missing: ${[...Array(COUNT).keys()].map((i) => `crash-${String(i).padStart(3, '0')}`).filter((s) => !subjects.has(s)).join(', ')}`);
  // Duplicates only for deliveries cut between the final dot and the reply: at most one per
  // connection that was open at the kill.
  assert.ok(got.length - COUNT <= 3, `${got.length - COUNT} duplicates`);

  const all = JSON.parse((await gw.cli(['queue', 'list', '--all', '--json'])).stdout) as any[];
  const mine = all.filter((m) => m.kind === 'message');
  assert.equal(mine.length, COUNT);
  for (const m of mine) assert.deepEqual(m.recipients.map((x: any) => x.state), ['delivered']);
});
