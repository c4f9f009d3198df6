/**
 * What the admin page needs from the store, against both stores: operator accounts kept apart
 * from mailbox accounts, and the hourly counts behind its charts (messages accepted, recipients
 * delivered and bounced, attempts deferred), with notices and other hours left out.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AttemptRow, NewMessage } from '../../src/store/store.js';
import { BACKENDS, withFreshStore } from '../store/backends.js';

const HOUR = 3_600_000;
/** The start of an hour, so that offsets below land in known hours. */
const H0 = Math.floor(1_800_000_000_000 / HOUR) * HOUR;

function message(id: string, created: number, n: number, kind: NewMessage['kind'] = 'message'): NewMessage {
  return {
    id,
    sender: kind === 'notice' ? '' : 'ann@example.test',
    recipients: Array.from({ length: n }, (_, i) => ({ address: `r${i}@d.example.test` })),
    body: Buffer.from(`Subject: ${id}\r\n\r\nhello\r\n`),
    created,
    principal: 'ip:127.0.0.1',
    smtputf8: false,
    eightBit: false,
    kind,
  };
}

function attempt(messageId: string, time: number, result: AttemptRow['result']): AttemptRow {
  return {
    messageId, time, recipients: ['r0@d.example.test'], host: 'mx.d.example.test', ip: '127.0.0.2',
    tls: false, reply: '451 4.0.0 later', result, node: 'n1',
  };
}

for (const backend of BACKENDS) {
  describe(`admin store: ${backend.name}`, () => {
    test('admin accounts live apart from mailbox accounts', () => withFreshStore(backend, async (s) => {
      assert.equal(await s.addAdmin('op@example.test', 'hash-1'), true);
      assert.equal(await s.addAdmin('op@example.test', 'hash-2'), false);
      assert.equal(await s.getAccount('op@example.test'), null);
      await s.addAccount('ann@example.test', 'mailbox-hash');
      assert.equal(await s.getAdmin('ann@example.test'), null);

      const op = await s.getAdmin('op@example.test');
      assert.equal(op?.address, 'op@example.test');
      assert.equal(op?.hash, 'hash-1');
      assert.equal(typeof op?.created, 'number');

      assert.equal(await s.setAdminPassword('op@example.test', 'hash-3'), true);
      assert.equal(await s.setAdminPassword('nobody@example.test', 'x'), false);
      assert.equal((await s.getAdmin('op@example.test'))?.hash, 'hash-3');

      await s.addAdmin('ada@example.test', 'hash-4');
      assert.deepEqual((await s.listAdmins()).map((a) => a.address), ['ada@example.test', 'op@example.test']);
      assert.equal(await s.deleteAdmin('op@example.test'), true);
      assert.equal(await s.deleteAdmin('op@example.test'), false);
      assert.deepEqual((await s.listAdmins()).map((a) => a.address), ['ada@example.test']);
      assert.equal((await s.getAccount('ann@example.test'))?.hash, 'mailbox-hash');
    }));

    test('hourly counts: accepted, delivered, bounced, deferred per hour', () => withFreshStore(backend, async (s) => {
      // Hour 0: two messages (3 recipients) and a notice; hour 2: one message. Before: one.
      await s.insertMessage(message('old', H0 - HOUR, 1));
      await s.insertMessage(message('m1', H0 + 60_000, 2));
      await s.insertMessage(message('m2', H0 + 120_000, 1));
      await s.insertMessage(message('n1', H0 + 180_000, 1, 'notice'));
      await s.insertMessage(message('m3', H0 + 2 * HOUR + 5, 1));

      const m1 = (await s.getMessage('m1'))!.recipients;
      const m2 = (await s.getMessage('m2'))!.recipients;
      const n1 = (await s.getMessage('n1'))!.recipients;
      // m1: one recipient deferred in hour 0, then both done in hour 1 (delivered, bounced).
      await s.recordOutcomes([{ id: m1[0]!.id, state: 'deferred', nextAttempt: H0 + HOUR, incrementAttempts: true }],
        attempt('m1', H0 + 600_000, 'deferred'));
      await s.recordOutcomes([
        { id: m1[0]!.id, state: 'delivered', nextAttempt: null, incrementAttempts: true, doneAt: H0 + HOUR + 10 },
        { id: m1[1]!.id, state: 'bounced', nextAttempt: null, incrementAttempts: true, doneAt: H0 + HOUR + 20 },
      ], attempt('m1', H0 + HOUR + 10, 'mixed'));
      // m2 delivered in hour 0; the notice delivered in hour 2 (a delivery like any other).
      await s.recordOutcomes([{ id: m2[0]!.id, state: 'delivered', nextAttempt: null, incrementAttempts: true, doneAt: H0 + 900_000 }],
        attempt('m2', H0 + 900_000, 'delivered'));
      await s.recordOutcomes([{ id: n1[0]!.id, state: 'delivered', nextAttempt: null, incrementAttempts: true, doneAt: H0 + 2 * HOUR }],
        attempt('n1', H0 + 2 * HOUR, 'delivered'));
      // A deferral of the old message, before the window.
      await s.recordOutcomes([], attempt('old', H0 - 1, 'deferred'));

      assert.deepEqual(await s.hourlyCounts(H0), [
        { hour: H0, accepted: 2, delivered: 1, bounced: 0, deferred: 1 },
        { hour: H0 + HOUR, accepted: 0, delivered: 1, bounced: 1, deferred: 0 },
        { hour: H0 + 2 * HOUR, accepted: 1, delivered: 1, bounced: 0, deferred: 0 },
      ]);
      assert.deepEqual(await s.hourlyCounts(H0 + 3 * HOUR), []);
    }));
  });
}
