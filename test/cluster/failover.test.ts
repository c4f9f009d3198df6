/**
 * A gateway that dies in the middle of a delivery (SIGKILL: no shutdown, no cleanup) holds
 * leases on its recipients in the shared database. When those run out, the other gateway
 * takes the work and delivers it; nothing accepted is lost with the node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgresStore } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/store.js';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freshDatabase, type FreshDatabase } from '../helpers/pg.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { swaks } from '../helpers/swaks.js';
import { waitFor } from '../helpers/wait.js';

let db: FreshDatabase;
let mx: Recorder;
let store: Store;
const nodes = new Map<string, Gateway>();

before(async () => {
  db = await freshDatabase();
  // The receiver holds every end of DATA for 4 s: long enough to kill a node mid-delivery.
  mx = await startRecorder('127.0.0.10', 0, { dataDelayMs: 4000 });
  const toml = (node: string) => `node_id = "${node}"\n[store]\npostgres = "${db.url}"\n` +
    `[delivery]\nport = ${mx.port}\n[queue]\nlease = "2s"\npoll_interval = "200ms"\n`;
  const [a, b] = await Promise.all([startGateway({ toml: toml('node-a') }), startGateway({ toml: toml('node-b') })]);
  nodes.set('node-a', a).set('node-b', b);
  store = await PostgresStore.open(db.url, { poolSize: 1 });
});

after(async () => {
  await store?.close();
  await Promise.all([...nodes.values()].map((g) => g.stop()));
  await mx?.stop();
  await db?.drop();
});

describe('a node dies holding leases', () => {
  test('the other node delivers the work once the leases run out', async () => {
    const r = await swaks(['--server', `127.0.0.1:${nodes.get('node-a')!.submissionPort}`, '--from', 'ann@example.test',
      '--to', 'one@example.test,two@example.test', '--header', 'Subject: failover']);
    const id = /^250 2\.0\.0 .*queued as (\S+)/.exec(r.last)?.[1];
    assert.ok(id, r.out);

    // Whichever node claimed it is the one to kill; the receiver is still holding its DATA.
    let owner = '';
    await waitFor(async () => {
      const m = await store.getMessage(id);
      owner = m?.recipients[0]?.leaseOwner ?? '';
      return owner !== '';
    }, { timeout: 10_000, interval: 20, what: 'a node to claim the message' });
    const survivor = owner === 'node-a' ? 'node-b' : 'node-a';
    await nodes.get(owner)!.kill();

    await waitFor(async () => (await store.getMessage(id))!.recipients.every((x) => x.state === 'delivered'),
      { timeout: 30_000, what: `${survivor} to deliver ${id}` });
    const m = await store.getMessage(id);
    assert.deepEqual(m!.recipients.map((x) => [x.address, x.state, x.attempts, x.leaseOwner]), [
      ['one@example.test', 'delivered', 1, null],
      ['two@example.test', 'delivered', 1, null],
    ]);
    // The dead node recorded nothing; the survivor's attempt is the only one.
    const attempts = await store.attempts(id);
    assert.deepEqual(attempts.map((x) => [x.node, x.result, x.recipients]),
      [[survivor, 'delivered', ['one@example.test', 'two@example.test']]]);
    // The receiver has the message from the survivor (and, depending on when the dead node's
    // connection broke, possibly an unacknowledged copy from it: SMTP's known duplicate case).
    const got = await mx.waitForMessages(1);
    assert.ok(got.some((x) => /^Subject: failover\r$/m.test(x.data.toString())));
  });
});
