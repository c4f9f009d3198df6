/**
 * A node killed (SIGKILL) in the middle of a busy queue: 1,000 messages submitted to node A
 * over parallel connections, A dies while its deliveries are in flight, the clients go on
 * with node B, and B, on the same database, delivers everything A left behind once A's leases
 * run out. Nothing accepted is lost. The only duplicates allowed are the deliveries A had in
 * flight between the receiver's 250 and the record of it (RFC 5321 section 6.1 prefers this
 * duplicate to a loss), so at most delivery.max_connections of them, plus a submission the
 * kill cut after A stored it, which the client then sends again to B.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freshDatabase, type FreshDatabase } from '../helpers/pg.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { smtplib } from '../helpers/smtplib.js';
import { waitFor } from '../helpers/wait.js';

const MESSAGES = 1000;
const SUBMIT_CONNECTIONS = 8;
const MAX_CONNECTIONS = 10;
/** d11..d14.example.test have their MX on 127.0.0.41..44 in the test DNS. */
const DOMAINS = [11, 12, 13, 14].map((n) => ({ domain: `d${n}.example.test`, addr: `127.0.0.${30 + n}` }));

let db: FreshDatabase;
let mxs: Recorder[] = [];
let a: Gateway;
let b: Gateway;

/** One recorder per MX address, all on one port, since delivery.port is one for all. */
async function startReceivers(): Promise<Recorder[]> {
  for (let attempt = 1; ; attempt++) {
    const got: Recorder[] = [];
    try {
      // A slow receiver: deliveries stay in flight long enough to be cut by the kill.
      const opts = { dataDelayMs: 30 };
      got.push(await startRecorder(DOMAINS[0]!.addr, 0, opts));
      for (const d of DOMAINS.slice(1)) got.push(await startRecorder(d.addr, got[0]!.port, opts));
      return got;
    } catch (err) {
      await Promise.all(got.map((r) => r.stop()));
      if (attempt >= 3) throw err;
    }
  }
}

before(async () => {
  db = await freshDatabase();
  mxs = await startReceivers();
  const toml = (node: string) => `node_id = "${node}"\n[store]\npostgres = "${db.url}"\n` +
    `[delivery]\nport = ${mxs[0]!.port}\nmax_connections = ${MAX_CONNECTIONS}\n` +
    `[queue]\nlease = "2s"\npoll_interval = "200ms"\n` +
    // One client sends all of it; the per-sender hourly limits are not under test here.
    `[limits]\nmessages_per_hour = ${MESSAGES * 10}\nrecipients_per_hour = ${MESSAGES * 10}\n`;
  [a, b] = await Promise.all([startGateway({ toml: toml('node-a') }), startGateway({ toml: toml('node-b') })]);
});

after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await Promise.all(mxs.map((m) => m.stop()));
  await db?.drop();
});

/**
 * Sends one small message per recipient over one connection, to the first host; when that
 * connection breaks (the node was killed), it goes on with the next host, starting with the
 * message that was cut, as any client would. Prints "OK rcpt port" per 250, "CUT rcpt" for a
 * message whose transaction broke (the dead node may have stored it: a second copy may come).
 */
const SUBMIT_PY = String.raw`
import json, smtplib, sys
p = json.load(sys.stdin)
ports = list(p["ports"])
def connect():
    s = smtplib.SMTP(p["host"], ports[0], timeout=60)
    s.ehlo("client.example.test")
    return s
s = connect()
for r in p["rcpts"]:
    msg = "From: ann@example.test\r\nTo: %s\r\nSubject: load %s\r\n\r\nfailover under load\r\n" % (r, r)
    while True:
        try:
            s.sendmail("ann@example.test", [r], msg.encode())
            print("OK %s %d" % (r, ports[0]), flush=True)
            break
        except (smtplib.SMTPServerDisconnected, OSError) as e:
            print("CUT %s %s" % (r, e), flush=True)
            if len(ports) == 1:
                raise
            ports.pop(0)
            s = connect()
        except smtplib.SMTPException as e:
            print("FAIL %s %s" % (r, e), flush=True)
            break
try:
    s.quit()
except smtplib.SMTPException:
    pass
`;

/** Recipients of every message the recorders hold (one recipient per message), in order. */
async function received(): Promise<string[]> {
  const out: string[] = [];
  for (const m of mxs) {
    const names = (await readdir(m.dir)).filter((n) => n.endsWith('.json'));
    for (const n of names) {
      const meta = JSON.parse(await readFile(path.join(m.dir, n), 'utf8'));
      out.push(...(meta.to as string[]));
    }
  }
  return out;
}

async function receivedCount(): Promise<number> {
  let n = 0;
  for (const m of mxs) n += (await readdir(m.dir)).filter((x) => x.endsWith('.json')).length;
  return n;
}

describe('a node killed under load', () => {
  test('every accepted message is delivered by the survivor, duplicates bounded', async (t) => {
    const rcpts = Array.from({ length: MESSAGES }, (_, i) => `r${i}@${DOMAINS[i % DOMAINS.length]!.domain}`);
    const slices = Array.from({ length: SUBMIT_CONNECTIONS }, (_, k) => rcpts.filter((_, i) => i % SUBMIT_CONNECTIONS === k));
    // Every connection submits to A, and moves to B when A dies under it.
    let submitting = true;
    const submission = Promise.all(slices.map(async (slice) => {
      const input = JSON.stringify({ host: '127.0.0.1', ports: [a.submissionPort, b.submissionPort], rcpts: slice });
      const r = await smtplib(SUBMIT_PY, input, 90_000);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    })).finally(() => (submitting = false));

    // Kill A while it delivers (and accepts): after the first 100 arrived, before 600.
    let atKill = 0;
    await waitFor(async () => (atKill = await receivedCount()) >= 100 || !submitting,
      { timeout: 60_000, interval: 20, what: '100 deliveries before the kill' });
    assert.ok(submitting, 'the submission ended before 100 deliveries: nothing left to cut');
    await a.kill();
    assert.ok(atKill < 600, `the deliveries were too fast to cut: ${atKill} had arrived before the kill`);
    const aDelivered = a.logs.filter((l) => l.event === 'attempt' && l.result === 'delivered').length;

    const lines = (await submission).join('').split('\n');
    const accepted = lines.filter((l) => l.startsWith('OK ')).map((l) => l.split(' ')[1]!);
    const cut = new Set(lines.filter((l) => l.startsWith('CUT ')).map((l) => l.split(' ')[1]!));
    assert.deepEqual(lines.filter((l) => l.startsWith('FAIL ')), [], 'refused submissions');
    assert.equal(accepted.length, MESSAGES);
    assert.deepEqual(new Set(accepted), new Set(rcpts));
    const viaB = lines.filter((l) => l.startsWith('OK ') && l.endsWith(` ${b.submissionPort}`)).length;
    assert.ok(cut.size <= SUBMIT_CONNECTIONS, `${cut.size} transactions cut, more than ${SUBMIT_CONNECTIONS} connections`);

    // B takes over A's leases once they run out (2 s) and delivers the rest.
    const want = new Set(rcpts);
    let got: string[] = [];
    await waitFor(async () => {
      got = await received();
      return new Set(got).size >= want.size;
    }, { timeout: 60_000, interval: 250, what: `all ${MESSAGES} recipients at the receivers` });
    // Let B's runner take another turn: a second copy of a delivered message would show now.
    await new Promise((r) => setTimeout(r, 2500));
    got = await received();

    const counts = new Map<string, number>();
    for (const r of got) counts.set(r, (counts.get(r) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), [...want].sort(), 'the set of recipients received is the set submitted');
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([r]) => r);
    // A message whose submission was cut may have been stored by A and then sent again to B:
    // two messages, each delivered once. Every other duplicate is a delivery A had in flight.
    const deliveryDuplicates = duplicated.filter((r) => !cut.has(r));
    const extraCopies = got.length - want.size;
    t.diagnostic(`received ${got.length} messages for ${want.size} recipients: ${duplicated.length} duplicated ` +
      `(${deliveryDuplicates.length} by delivery, ${duplicated.length - deliveryDuplicates.length} by a cut submission; ` +
      `${extraCopies} extra copies); ${atKill} had arrived at the kill; A logged ${aDelivered} deliveries; ` +
      `${viaB} messages submitted to B after the kill, ${cut.size} submissions cut`);
    assert.ok(deliveryDuplicates.length <= MAX_CONNECTIONS,
      `${deliveryDuplicates.length} delivery duplicates, more than A's ${MAX_CONNECTIONS} connections: ${deliveryDuplicates.join(' ')}`);
    assert.ok(extraCopies <= MAX_CONNECTIONS + cut.size,
      `${extraCopies} extra copies, more than A's ${MAX_CONNECTIONS} connections + ${cut.size} cut submissions`);

    // The shared queue, seen through B, has nothing left unfinished.
    const list = await b.cli(['queue', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), []);
  });
});
