/**
 * Two gateways (`outpost serve`, separate processes on separate ports) sharing one PostgreSQL
 * database, as a provider runs them: both start at once on an empty database, mail submitted
 * to either is delivered exactly once by whichever node takes it, and an account made through
 * one node logs in on the other.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgresStore } from '../../src/store/postgres.js';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freshDatabase, type FreshDatabase } from '../helpers/pg.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { serverReplyAfter, swaks } from '../helpers/swaks.js';
import { waitFor } from '../helpers/wait.js';

const PASSWORD = 'two nodes share one set of accounts';

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

async function send(gw: Gateway, subject: string): Promise<string> {
  const r = await swaks(['--server', `127.0.0.1:${gw.submissionPort}`, '--from', 'ann@example.test',
    '--to', 'one@example.test,two@example.test', '--header', `Subject: ${subject}`]);
  const m = /^250 2\.0\.0 .*queued as (\S+)/.exec(r.last);
  assert.ok(m, `not queued: ${r.last}\n${r.out}`);
  return m[1]!;
}

async function queueJson(gw: Gateway, args: string[]): Promise<any> {
  const r = await gw.cli(['queue', ...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('two gateways on one database', () => {
  test('mail submitted to either node is delivered exactly once', async () => {
    const subjects = Array.from({ length: 16 }, (_, i) => `cluster ${i}`);
    const ids = await Promise.all(subjects.map((s, i) => send(i % 2 ? b : a, s)));

    // Watch the shared database itself: polling through the CLI would spawn a process per look.
    const store = await PostgresStore.open(db.url, { poolSize: 1 });
    try {
      const finished = async () => (await Promise.all(ids.map((id) => store.getMessage(id))))
        .every((m) => m !== null && m.recipients.every((r) => r.state === 'delivered'));
      await waitFor(finished, { timeout: 30_000, what: 'all 16 messages delivered' });

      // Let both runners take a few more turns: a second delivery would show up now.
      await new Promise((r) => setTimeout(r, 1000));
      const got = await mx.waitForMessages(16);
      const seen = new Map<string, number>();
      for (const m of got) {
        const subject = /^Subject: (.*)\r$/m.exec(m.data.toString())?.[1] ?? '?';
        for (const rcpt of m.to) seen.set(`${subject} ${rcpt}`, (seen.get(`${subject} ${rcpt}`) ?? 0) + 1);
      }
      const expected = subjects.flatMap((s) => [`${s} one@example.test`, `${s} two@example.test`]);
      assert.deepEqual([...seen.keys()].sort(), expected.sort());
      assert.deepEqual([...new Set(seen.values())], [1]);

      // Each message's history has exactly one attempt, a successful one by one of the nodes.
      for (const id of ids) {
        const attempts = await store.attempts(id);
        assert.deepEqual(attempts.map((x) => x.result), ['delivered'], `message ${id}`);
        assert.ok(['node-a', 'node-b'].includes(attempts[0]!.node), attempts[0]!.node);
      }
    } finally {
      await store.close();
    }

    // Either node's CLI shows the whole shared queue, whichever node accepted the message.
    const listed = await queueJson(b, ['list', '--all']);
    assert.deepEqual(listed.map((m: any) => m.id).sort(), [...ids].sort());
  });

  test('an account added through one node logs in on the other', async () => {
    const add = await a.cli(['user', 'add', 'carol@example.test', '--password-stdin'], `${PASSWORD}\n`);
    assert.equal(add.code, 0, add.stderr);
    const r = await swaks(['--server', `127.0.0.1:${b.submissionPort}`, '--tls', '--auth', 'PLAIN',
      '--auth-user', 'carol@example.test', '--auth-password', PASSWORD, '--from', 'carol@example.test',
      '--to', 'one@example.test', '--header', 'Subject: shared account']);
    assert.match(serverReplyAfter(r, 'AUTH'), /^235 2\.7\.0 /);
    assert.match(r.last, /^250 2\.0\.0 .*queued as /);
  });
});
