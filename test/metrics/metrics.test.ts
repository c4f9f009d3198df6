/**
 * GET /metrics of a real gateway (`outpost serve`): one message accepted from swaks with a
 * recipient delivered to a real receiver (aiosmtpd on d15) and one deferred by another (d16,
 * 451 for that address), a bounce refused at MAIL FROM, and a message with EICAR refused after
 * DATA by the baseline scanner. The counters, histograms and queue gauges then hold exactly
 * these events, and every metric family the operators rely on is there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { freeCommonPort } from '../helpers/ports.js';
import { startRecorder, type Recorder } from '../helpers/receivers.js';
import { serverReplyAfter, swaks } from '../helpers/swaks.js';
import { waitFor } from '../helpers/wait.js';
import { parseMetrics, sample, type Samples } from './parse.js';

const NODE = 'metrics-node-1';
/** The standard anti-virus test string; built at run time so no file holds it whole. */
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join('');

describe('GET /metrics', () => {
  let gw: Gateway;
  let d15: Recorder;
  let d16: Recorder;
  let text: string;
  let m: Samples;

  before(async () => {
    const port = await freeCommonPort(['127.0.0.45', '127.0.0.46']);
    [d15, d16] = await Promise.all([
      startRecorder('127.0.0.45', port),
      startRecorder('127.0.0.46', port, {
        rules: [{ match: '^slow@d16\\.example\\.test$', code: 451, text: '4.2.1 Come back later' }],
      }),
    ]);
    gw = await startGateway({
      toml: `node_id = "${NODE}"\n[delivery]\nport = ${port}\n[retry]\nschedule = ["1h until 1d"]\n`,
    });
    const server = ['--server', `127.0.0.1:${gw.submissionPort}`];

    const bounce = await swaks([...server, '--from', '<>', '--to', 'alice@d15.example.test']);
    assert.equal(serverReplyAfter(bounce, 'MAIL'), '550 5.7.1 Bounce messages (MAIL FROM:<>) are not relayed');
    const virus = await swaks([...server, '--from', 'ann@example.test', '--to', 'alice@d15.example.test',
      '--body', `${EICAR}\n`]);
    assert.match(serverReplyAfter(virus, 'DATA'), /^554 5\.7\.1 /);
    // Last, so that both delivery sessions are still open (idle, kept for reuse) at the scrape.
    const ok = await swaks([...server, '--from', 'ann@example.test',
      '--to', 'alice@d15.example.test,slow@d16.example.test', '--header', 'Subject: counted']);
    assert.match(ok.last, /^250 2\.0\.0 /);

    // Both attempts (one per domain) done, and every SMTP session closed.
    await gw.waitForLog(() => gw.logs.filter((l) => l.event === 'attempt').length >= 2, { what: 'two attempts' });
    await waitFor(async () => gw.logs.filter((l) => l.event === 'disconnect').length >= 3, { what: 'three disconnects' });

    const res = await fetch(`http://127.0.0.1:${gw.webPort}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    text = await res.text();
    m = parseMetrics(text);
  });

  after(async () => {
    if (gw) assert.equal(await gw.stop(), 0);
    await Promise.all([d15?.stop(), d16?.stop()]);
  });

  test('the receivers got what the counters say', async () => {
    assert.equal((await d15.messages()).length, 1);
    assert.equal((await d16.messages()).length, 0);
  });

  test('messages accepted and refused, per node, by stage and enhanced code', () => {
    assert.equal(sample(m, 'outpost_messages_accepted_total', { node: NODE, source: 'smtp' }), 1);
    assert.equal(sample(m, 'outpost_messages_accepted_total', { node: NODE, source: 'webmail' }), 0);
    assert.equal(sample(m, 'outpost_refusals_total', { node: NODE, stage: 'mail', class: '5', enhanced: '5.7.1' }), 1);
    assert.equal(sample(m, 'outpost_refusals_total', { node: NODE, stage: 'data', class: '5', enhanced: '5.7.1' }), 1);
    const refusals = m.filter((s) => s.name === 'outpost_refusals_total');
    assert.equal(refusals.reduce((a, s) => a + s.value, 0), 2);
  });

  test('deliveries by result, attempts, and their latency', () => {
    assert.equal(sample(m, 'outpost_deliveries_total', { node: NODE, result: 'delivered' }), 1);
    assert.equal(sample(m, 'outpost_deliveries_total', { node: NODE, result: 'deferred' }), 1);
    assert.equal(sample(m, 'outpost_deliveries_total', { node: NODE, result: 'bounced' }), 0);
    assert.equal(sample(m, 'outpost_delivery_attempts_total', { node: NODE, result: 'delivered' }), 1);
    assert.equal(sample(m, 'outpost_delivery_attempts_total', { node: NODE, result: 'deferred' }), 1);
    assert.equal(sample(m, 'outpost_delivery_attempt_seconds_count', { node: NODE }), 2);
    assert.equal(sample(m, 'outpost_delivery_attempt_seconds_bucket', { node: NODE, le: '+Inf' }), 2);
  });

  test('scanner latency per scanner: both messages that reached DATA were scanned', () => {
    assert.equal(sample(m, 'outpost_scan_seconds_count', { node: NODE, scanner: 'baseline' }), 2);
    assert.equal(sample(m, 'outpost_scan_seconds_bucket', { node: NODE, scanner: 'baseline', le: '+Inf' }), 2);
  });

  test('open connections in and out: delivery sessions stay open a few seconds, then close', async () => {
    assert.equal(sample(m, 'outpost_connections', { node: NODE, direction: 'in' }), 0);
    assert.equal(sample(m, 'outpost_connections', { node: NODE, direction: 'out' }), 2);
    await waitFor(async () => {
      const now = parseMetrics(await (await fetch(`http://127.0.0.1:${gw.webPort}/metrics`)).text());
      return sample(now, 'outpost_connections', { node: NODE, direction: 'out' }) === 0;
    }, { timeout: 15_000, interval: 250, what: 'idle delivery sessions closed' });
  });

  test('queue gauges from the store, without a node label', () => {
    assert.equal(sample(m, 'outpost_queue_recipients', { state: 'delivered' }), 1);
    assert.equal(sample(m, 'outpost_queue_recipients', { state: 'deferred' }), 1);
    assert.equal(sample(m, 'outpost_queue_recipients', { state: 'queued' }), 0);
    assert.equal(sample(m, 'outpost_queue_recipients', { state: 'held' }), 0);
    assert.equal(sample(m, 'outpost_queue_recipients', { state: 'bounced' }), 0);
    assert.equal(sample(m, 'outpost_queue_messages', {}), 1);
    assert.equal(sample(m, 'outpost_blocks', {}), 0);
    const age = sample(m, 'outpost_queue_oldest_age_seconds', {});
    assert.ok(age > 0 && age < 600, `oldest age ${age}`);
    assert.ok(m.filter((s) => s.name.startsWith('outpost_queue_')).every((s) => !('node' in s.labels)));
  });

  test('every family is declared, Node process metrics included', () => {
    for (const [name, type] of [
      ['outpost_messages_accepted_total', 'counter'],
      ['outpost_refusals_total', 'counter'],
      ['outpost_deliveries_total', 'counter'],
      ['outpost_delivery_attempts_total', 'counter'],
      ['outpost_delivery_attempt_seconds', 'histogram'],
      ['outpost_scan_seconds', 'histogram'],
      ['outpost_connections', 'gauge'],
      ['outpost_queue_recipients', 'gauge'],
      ['outpost_queue_messages', 'gauge'],
      ['outpost_queue_oldest_age_seconds', 'gauge'],
      ['outpost_blocks', 'gauge'],
      ['process_cpu_user_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
    ]) {
      assert.ok(text.includes(`\n# TYPE ${name} ${type}\n`) || text.startsWith(`# TYPE ${name} ${type}\n`),
        `# TYPE ${name} ${type}`);
    }
    assert.ok(m.some((s) => s.name === 'process_cpu_user_seconds_total' && s.labels.node === NODE));
  });
});
