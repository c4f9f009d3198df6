/** The gateway launcher helper against the real `outpost serve`. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startGateway } from '../helpers/gateway.js';

function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setEncoding('utf8').once('data', (d: string) => {
      s.destroy();
      resolve(d.split('\r\n')[0]!);
    });
    s.on('error', reject);
  });
}

test('startGateway: listeners on free ports, config merge, cli, stop and restart on the same data', async () => {
  const gw = await startGateway({ toml: '[smtp]\nmax_recipients = 7\n[delivery]\nport = 2599\n' });
  try {
    const kinds = gw.logs.filter((l) => l.event === 'listen').map((l) => l.kind).sort();
    assert.deepEqual(kinds, ['submission', 'submissions', 'web']);
    assert.ok(gw.submissionPort > 0 && gw.submissionsPort > 0 && gw.webPort > 0);
    assert.match(await greeting(gw.submissionPort), /^220 /);

    const show = await gw.cli(['config', 'show']);
    assert.equal(show.code, 0, show.stderr);
    const cfg = JSON.parse(show.stdout);
    assert.equal(cfg.smtp.max_recipients, 7); // the test's value
    assert.deepEqual(cfg.smtp.submission, [`127.0.0.1:${gw.submissionPort}`]); // kept from the base
    assert.equal(cfg.delivery.port, 2599);
    assert.equal(cfg.hostname, 'outpost.example.test');

    const add = await gw.cli(['user', 'add', 'alice@example.test', '--password-stdin'], 'a long enough password');
    assert.equal(add.code, 0, add.stderr);

    assert.equal(await gw.stop(), 0);
    assert.equal(await gw.stop(), 0); // idempotent

    const again = await gw.restart();
    try {
      assert.equal(again.dataDir, gw.dataDir);
      assert.equal(again.submissionPort, gw.submissionPort);
      const list = await again.cli(['user', 'list']);
      assert.match(list.stdout, /alice@example\.test/);
    } finally {
      await again.kill();
    }
  } finally {
    await gw.stop();
  }
});
