/**
 * Connection limits and reuse through the real gateway: many messages to one destination
 * go over at most delivery.max_per_destination connections at a time, each connection
 * carrying several messages (RSET between them) up to max_messages_per_connection.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { smtplib } from '../helpers/smtplib.js';

const MX = '127.0.0.34'; // d4.example.test
const COUNT = 24;

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
codes = []
for i in range(p["count"]):
    s.mail("ann@example.net")
    s.rcpt("r%02d@d4.example.test" % i)
    code, msg = s.data(("Subject: limits %d\r\n\r\nbody\r\n" % i).encode())
    codes.append(code)
s.quit()
print(json.dumps(codes))
`;

test('per-destination limit and connection reuse', async () => {
  const port = await freePort(MX);
  rec = await startRecorder(MX, port, { dataDelayMs: 50 });
  gw = await startGateway({
    toml: `[delivery]\nport = ${port}\nmax_per_destination = 2\nmax_messages_per_connection = 5\n[queue]\npoll_interval = "200ms"\n`,
  });
  const r = await smtplib(SEND_PY, JSON.stringify({ host: '127.0.0.1', port: gw.submissionPort, count: COUNT }));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), Array(COUNT).fill(250));

  const got = await rec.waitForMessages(COUNT, 30_000);
  assert.equal(got.length, COUNT);

  // Messages per connection: reused, never beyond the limit.
  const perConn = new Map<number, number>();
  for (const m of got) perConn.set(m.conn, (perConn.get(m.conn) ?? 0) + 1);
  for (const [conn, n] of perConn) assert.ok(n <= 5, `connection ${conn} carried ${n} messages`);
  assert.ok(perConn.size < COUNT, 'no connection was reused');
  assert.ok([...perConn.values()].some((n) => n > 1));

  // Connections open at once, from the receiver's own record of connects and QUITs.
  let open = 0;
  let most = 0;
  for (const e of await rec.events()) {
    if (e.ev === 'connect') most = Math.max(most, ++open);
    if (e.ev === 'quit') open--;
  }
  assert.ok(most <= 2, `${most} connections at once`);
});
