/**
 * Nothing accepted is lost: the 250 to DATA comes only after the message is on disk, so a
 * gateway killed right after it still has the message when it starts again. SIGTERM stops
 * new connections but lets a session in the middle of a message finish it.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { exited } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait.js';
import { RawSmtp } from './raw-client.js';
import { message, queuedBody, queuedMessages } from './setup.js';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('durability and shutdown', () => {
  const started: Gateway[] = [];
  after(async () => {
    for (const g of started) await g.stop();
  });

  it('finds a message in the queue after SIGKILL right after its 250', async () => {
    const gw = await startGateway();
    started.push(gw);
    const c = await RawSmtp.connect(gw.submissionPort);
    await c.cmd('EHLO client.example.test');
    await c.cmd('MAIL FROM:<alice@example.test>');
    await c.cmd('RCPT TO:<bob@example.net>');
    assert.match(await c.cmd('DATA'), /^354 /);
    const original = message('crash');
    c.write(`${original}.\r\n`);
    const reply = await c.reply();
    gw.proc.kill('SIGKILL');
    assert.match(reply, /^250 2\.0\.0 Ok: queued as /);
    const id = /queued as (\S+)/.exec(reply)![1]!;
    await gw.kill();
    c.close();

    const again = await gw.restart();
    started.push(again);
    const list = await again.cli(['queue', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const m = (JSON.parse(list.stdout) as Array<{ id: string; recipients: Array<{ address: string }> }>).find((x) => x.id === id);
    assert.ok(m, `message ${id} survived the crash`);
    assert.deepEqual(m.recipients.map((r) => r.address), ['bob@example.net']);
    const body = (await queuedBody(again, id))!;
    assert.ok(body.subarray(body.length - original.length).equals(Buffer.from(original)));
  });

  it('on SIGTERM refuses new connections, finishes the message in progress, exits 0', async () => {
    const gw = await startGateway({ toml: '[smtp]\nshutdown_grace = "5s"\n' });
    started.push(gw);
    const c = await RawSmtp.connect(gw.submissionPort);
    await c.cmd('EHLO client.example.test');
    await c.cmd('MAIL FROM:<alice@example.test>');
    await c.cmd('RCPT TO:<bob@example.net>');
    assert.match(await c.cmd('DATA'), /^354 /);
    c.write('Subject: in flight\r\n\r\nfirst half\r\n');

    gw.proc.kill('SIGTERM');
    await gw.waitForLog((l) => l.event === 'stop');
    // Services stop one after the other; the SMTP listener closes within the grace time.
    await waitFor(() => refused(gw.submissionPort), { timeout: 4000, what: 'the listener to close' });

    c.write('second half\r\n.\r\n');
    const reply = await c.reply();
    assert.match(reply, /^250 2\.0\.0 Ok: queued as /);
    assert.match(await c.cmd('MAIL FROM:<alice@example.test>'), /^421 4\.3\.2 /);
    c.close();
    assert.equal(await exited(gw.proc), 0);

    const id = /queued as (\S+)/.exec(reply)![1]!;
    const again = await gw.restart();
    started.push(again);
    assert.ok((await queuedMessages(again)).some((m) => m.id === id));
  });
});
