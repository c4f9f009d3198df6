/**
 * Blocks live in the shared database, so a block made through one node is enforced by every
 * node at the next MAIL FROM, and lifting it through any node lets the sender in everywhere.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freshDatabase, type FreshDatabase } from '../helpers/pg.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { pySend, type PySendResult } from '../helpers/smtplib.js';

let db: FreshDatabase;
let mx: Recorder;
let a: Gateway;
let b: Gateway;

before(async () => {
  db = await freshDatabase();
  // example.test's MX is 127.0.0.10; a port of our own keeps parallel test files apart.
  mx = await startRecorder('127.0.0.10', 0);
  const toml = (node: string) => `node_id = "${node}"\n[store]\npostgres = "${db.url}"\n` +
    `[delivery]\nport = ${mx.port}\n[queue]\npoll_interval = "200ms"\n`;
  [a, b] = await Promise.all([startGateway({ toml: toml('node-a') }), startGateway({ toml: toml('node-b') })]);
});

after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await mx?.stop();
  await db?.drop();
});

/** One message from the loopback client (a trusted network) through `gw`'s submission port. */
function send(gw: Gateway, subject: string): Promise<PySendResult> {
  return pySend({
    host: '127.0.0.1', port: gw.submissionPort, mode: 'plain', from: 'ann@example.test', to: ['one@example.test'],
    data: `From: ann@example.test\r\nTo: one@example.test\r\nSubject: ${subject}\r\n\r\nbody\r\n`,
  });
}

describe('blocks across two nodes', () => {
  test('a block added through node A is enforced by node B, and lifted through B for A', async () => {
    // Both nodes accept the client before any block.
    for (const gw of [a, b]) {
      const r = await send(gw, 'before the block');
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.equal(r.code, 250);
    }

    const add = await a.cli(['block', 'add', 'ip:127.0.0.1', '--reason', 'test']);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout.trim(), 'blocked ip:127.0.0.1');

    // Node B never saw the command; it reads the block from the shared database.
    const refused = await send(b, 'during the block');
    assert.equal(refused.ok, false, JSON.stringify(refused));
    assert.equal(refused.stage, 'mail');
    assert.equal(refused.code, 550);
    assert.match(refused.message ?? '', /^5\.7\.1 Sending from your account is suspended/);
    // And so does A, where it was made.
    const refusedA = await send(a, 'during the block');
    assert.deepEqual([refusedA.ok, refusedA.stage, refusedA.code], [false, 'mail', 550]);
    assert.match(refusedA.message ?? '', /^5\.7\.1 /);

    const listed = await b.cli(['block', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).map((x: any) => [x.principal, x.reason]), [['ip:127.0.0.1', 'test']]);

    const remove = await b.cli(['block', 'remove', 'ip:127.0.0.1']);
    assert.equal(remove.code, 0, remove.stderr);

    const again = await send(a, 'after the block');
    assert.equal(again.ok, true, JSON.stringify(again));
    assert.equal(again.code, 250);
    assert.match(again.message ?? '', /^2\.0\.0 .*queued as /);
  });
});
