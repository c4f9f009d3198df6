/**
 * The queue's decisions as a pure function: outcomes in, recipient state, attempt record and
 * notices out. The clock is a parameter, so the whole schedule runs here without waiting.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import { localReply, type RecipientOutcome, type RemoteReply } from '../../src/delivery/outcome.js';
import { decide, type DecideInput } from '../../src/queue/decide.js';
import { RetrySchedule } from '../../src/queue/schedule.js';
import type { MessageRow, Notify, RecipientRow } from '../../src/store/store.js';

const cfg = validateConfig({}, null);
const schedule = new RetrySchedule(cfg.retry.schedule);
const H = 3_600_000;
const T0 = Date.UTC(2026, 11, 3, 10, 0, 0);

function row(id: number, address: string, extra: Partial<RecipientRow> = {}): RecipientRow {
  return {
    id, messageId: 'Q1', address, domain: address.split('@')[1]!, orcpt: null, notify: null, state: 'queued',
    attempts: 0, nextAttempt: T0, leaseOwner: 'n1', lastReply: null, lastAttempt: null, doneAt: null,
    nextDelayNotice: null, ...extra,
  };
}

function message(rows: RecipientRow[], extra: Partial<MessageRow> = {}): MessageRow {
  return {
    id: 'Q1', sender: 'ann@example.net', created: T0, size: 100, envid: null, ret: null, principal: 'ip:127.0.0.1',
    authUser: null, clientIp: '127.0.0.1', smtputf8: false, eightBit: false, kind: 'message', recipients: rows, ...extra,
  };
}

const remote = (code: number, enhanced: string | null, text: string): RemoteReply => ({ code, enhanced, text, source: 'remote' });

function out(address: string, kind: RecipientOutcome['kind'], reply: RemoteReply): RecipientOutcome {
  return { address, kind, reply, mx: 'mx.example.test', ip: '127.0.0.10', tls: true };
}

function run(rows: RecipientRow[], outcomes: RecipientOutcome[], now: number, msg = message(rows)) {
  const input: DecideInput = { msg, rows, outcomes, now, schedule, retry: cfg.retry, node: 'n1' };
  return decide(input);
}

describe('decide', () => {
  test('delivered, bounced and deferred in one transaction; one attempt record', () => {
    const rows = [row(1, 'a@example.test'), row(2, 'b@example.test'), row(3, 'c@example.test')];
    const d = run(rows, [
      out('a@example.test', 'delivered', remote(250, '2.0.0', 'Ok')),
      out('b@example.test', 'failed', remote(550, '5.1.1', 'no such user')),
      out('c@example.test', 'deferred', remote(451, '4.2.0', 'busy')),
    ], T0 + 1000);
    assert.deepEqual(d.updates.map((u) => [u.id, u.state, u.nextAttempt]), [
      [1, 'delivered', null],
      [2, 'bounced', null],
      [3, 'deferred', T0 + 5 * 60_000],
    ]);
    assert.equal(d.updates[1]!.lastReply, '550 5.1.1 no such user');
    assert.ok(d.updates.every((u) => u.incrementAttempts));
    assert.equal(d.failed.length, 1);
    assert.equal(d.failed[0]!.status, '5.1.1');
    assert.equal(d.delivered.length, 0); // no NOTIFY=SUCCESS
    assert.equal(d.delayed.length, 0); // too early
    assert.equal(d.attempt.result, 'mixed');
    assert.equal(d.attempt.host, 'mx.example.test');
    assert.equal(d.attempt.reply, '<a@example.test>: 250 2.0.0 Ok; <b@example.test>: 550 5.1.1 no such user; <c@example.test>: 451 4.2.0 busy');
  });

  test('a delay notice once delay_notice_after has passed, then every delay_notice_every', () => {
    const r = row(1, 'c@example.test', { attempts: 10, state: 'deferred' });
    const busy = [out('c@example.test', 'deferred', remote(451, '4.2.0', 'busy'))];
    assert.equal(run([r], busy, T0 + 3 * H).delayed.length, 0);

    const at4 = run([r], busy, T0 + 4 * H + 1000);
    assert.equal(at4.delayed.length, 1);
    assert.equal(at4.delayed[0]!.action, 'delayed');
    assert.equal(at4.delayed[0]!.status, '4.2.0');
    assert.equal(at4.delayed[0]!.willRetryUntil, T0 + (4 * 24 + 22) * H);
    assert.equal(at4.updates[0]!.nextDelayNotice, T0 + 28 * H);

    const again = { ...r, nextDelayNotice: T0 + 28 * H };
    assert.equal(run([again], busy, T0 + 27 * H).delayed.length, 0);
    assert.equal(run([again], busy, T0 + 28 * H).delayed.length, 1);
  });

  test('when the schedule has run out the recipient is bounced with the last reply', () => {
    const r = row(1, 'c@example.test', { attempts: 40, state: 'deferred' });
    const d = run([r], [out('c@example.test', 'deferred', remote(451, '4.2.0', 'busy'))], T0 + (4 * 24 + 22) * H + 1);
    assert.equal(d.updates[0]!.state, 'bounced');
    assert.deepEqual(d.expired, ['c@example.test']);
    assert.equal(d.failed[0]!.status, '5.2.0');
    assert.equal(d.failed[0]!.reply.text, 'busy');
    assert.equal(d.attempt.result, 'bounced');
  });

  test('NOTIFY: NEVER silences everything, SUCCESS asks for a delivered notice, FAILURE only bounces', () => {
    const n = (address: string, notify: Notify) => row(address.length, address, { notify });
    const rows = [n('never@x.test', ['NEVER']), n('succ@x.test', ['SUCCESS']), n('fail@x.test', ['FAILURE'])];
    const ok = remote(250, '2.0.0', 'Ok');
    const late = T0 + 5 * H;
    const d1 = run(rows, rows.map((r) => out(r.address, 'delivered', ok)), late);
    assert.deepEqual(d1.delivered.map((x) => x.address), ['succ@x.test']);
    assert.equal(d1.delivered[0]!.status, '2.0.0');
    const busy = remote(451, '4.2.0', 'busy');
    const d2 = run(rows, rows.map((r) => out(r.address, 'deferred', busy)), late);
    assert.deepEqual(d2.delayed.map((x) => x.address), []);
    const gone = remote(550, '5.1.1', 'gone');
    const d3 = run(rows, rows.map((r) => out(r.address, 'failed', gone)), late);
    assert.deepEqual(d3.failed.map((x) => x.address), ['fail@x.test']);
  });

  test('no notice to the null reverse-path; a notice that fails is dropped', () => {
    const r = row(1, 'ann@example.net');
    const bounceOfBounce = run([r], [out('ann@example.net', 'failed', remote(550, '5.1.1', 'gone'))], T0 + 1000,
      message([r], { sender: '', kind: 'notice' }));
    assert.equal(bounceOfBounce.failed.length, 0);
    assert.equal(bounceOfBounce.dropped.length, 1);
    assert.equal(bounceOfBounce.updates[0]!.state, 'bounced');
    const delayOfNotice = run([r], [out('ann@example.net', 'deferred', remote(451, '4.2.0', 'busy'))], T0 + 5 * H,
      message([r], { sender: '', kind: 'notice' }));
    assert.equal(delayOfNotice.delayed.length, 0);
    assert.equal(delayOfNotice.updates[0]!.state, 'deferred');
  });

  test('a deferral the server gave a 5xx for (5xx greeting on every MX) still waits, with a 4.x status', () => {
    const r = row(1, 'c@example.test');
    const d = run([r], [out('c@example.test', 'deferred', remote(554, '5.7.1', 'go away'))], T0 + 4 * H + 1);
    assert.equal(d.updates[0]!.state, 'deferred');
    assert.equal(d.delayed[0]!.status, '4.7.1');
  });

  test('local failures keep their own text', () => {
    const r = row(1, 'a@nx.example.test');
    const d = run([r], [{ address: r.address, kind: 'failed', reply: localReply(550, '5.1.2', 'Domain nx.example.test does not exist'), mx: null, ip: null, tls: false }], T0 + 10);
    assert.equal(d.failed[0]!.mx, null);
    assert.equal(d.attempt.host, null);
    assert.equal(d.updates[0]!.lastReply, '550 5.1.2 Domain nx.example.test does not exist');
  });
});
