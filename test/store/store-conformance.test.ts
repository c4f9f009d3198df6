/**
 * One set of cases, run against both stores: the SQLite store (temp dir) and the PostgreSQL
 * store (a fresh database on the local server). Whatever the rest of the gateway may rely on
 * is pinned here, so that switching a deployment to PostgreSQL changes nothing it can see.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AttemptRow, NewMessage, RecipientRow, Store } from '../../src/store/store.js';
import { BACKENDS, withBacking, withFreshStore } from './backends.js';

const T0 = 1_800_000_000_000;

function message(id: string, over: Partial<NewMessage> = {}): NewMessage {
  return {
    id,
    sender: 'ann@sender.example.test',
    recipients: [{ address: 'bob@dest.example.test' }],
    body: Buffer.from(`Subject: ${id}\r\n\r\nhello\r\n`),
    created: T0,
    principal: 'user:ann@sender.example.test',
    authUser: 'ann@sender.example.test',
    clientIp: '127.0.0.1',
    smtputf8: false,
    eightBit: false,
    kind: 'message',
    ...over,
  };
}

function rcpts(n: number, domain = 'dest.example.test') {
  return Array.from({ length: n }, (_, i) => ({ address: `r${i}@${domain}` }));
}

function attempt(messageId: string, time: number, over: Partial<AttemptRow> = {}): AttemptRow {
  return {
    messageId, time, recipients: ['bob@dest.example.test'], host: 'mx.dest.example.test', ip: '127.0.0.2',
    tls: true, reply: '250 2.0.0 ok', result: 'delivered', node: 'n1', ...over,
  };
}

/** Claims until nothing is due, from `loops` concurrent claimers on `store`. */
async function claimAll(store: Store, node: string, loops: number, now: number): Promise<RecipientRow[]> {
  const got: RecipientRow[] = [];
  await Promise.all(Array.from({ length: loops }, async () => {
    for (;;) {
      const rows = await store.claimDue(now, 7, node, 60_000);
      if (rows.length === 0) return;
      got.push(...rows);
    }
  }));
  return got;
}

for (const backend of BACKENDS) {
  describe(`store conformance: ${backend.name}`, () => {
    test('a message and its recipients read back as written', () => withFreshStore(backend, async (s) => {
      const body = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
      await s.insertMessage(message('q1', {
        sender: '',
        recipients: [
          { address: 'Bob@Dest.Example.Test', orcpt: 'rfc822;Bob@Dest.Example.Test', notify: ['SUCCESS', 'DELAY'] },
          { address: 'carol@other.example.test', notify: ['NEVER'] },
          { address: 'dave@dest.example.test' },
        ],
        body, envid: 'env-1', ret: 'HDRS', smtputf8: true, eightBit: true, kind: 'notice',
        principal: 'ip:127.0.0.9', authUser: null, clientIp: '127.0.0.9',
      }));
      const m = await s.getMessage('q1');
      assert.ok(m);
      const { recipients, ...head } = m;
      assert.deepEqual(head, {
        id: 'q1', sender: '', created: T0, size: 512, envid: 'env-1', ret: 'HDRS', principal: 'ip:127.0.0.9',
        authUser: null, clientIp: '127.0.0.9', smtputf8: true, eightBit: true, kind: 'notice',
      });
      assert.equal(recipients.length, 3);
      assert.deepEqual(recipients.map(({ id: _id, ...r }) => r), [
        { messageId: 'q1', address: 'Bob@Dest.Example.Test', domain: 'dest.example.test',
          orcpt: 'rfc822;Bob@Dest.Example.Test', notify: ['SUCCESS', 'DELAY'], state: 'queued', attempts: 0,
          nextAttempt: T0, leaseOwner: null, lastReply: null, lastAttempt: null, doneAt: null, nextDelayNotice: null },
        { messageId: 'q1', address: 'carol@other.example.test', domain: 'other.example.test', orcpt: null,
          notify: ['NEVER'], state: 'queued', attempts: 0, nextAttempt: T0, leaseOwner: null, lastReply: null,
          lastAttempt: null, doneAt: null, nextDelayNotice: null },
        { messageId: 'q1', address: 'dave@dest.example.test', domain: 'dest.example.test', orcpt: null, notify: null,
          state: 'queued', attempts: 0, nextAttempt: T0, leaseOwner: null, lastReply: null, lastAttempt: null,
          doneAt: null, nextDelayNotice: null },
      ]);
      assert.ok(recipients[0]!.id < recipients[1]!.id && recipients[1]!.id < recipients[2]!.id);
      assert.deepEqual(await s.readBody('q1'), body);
      assert.equal(await s.getMessage('nope'), null);
      assert.equal(await s.readBody('nope'), null);
    }));

    test('concurrent inserts all land; a duplicate id fails alone', () => withFreshStore(backend, async (s) => {
      await s.insertMessage(message('dup'));
      const results = await Promise.allSettled([
        ...Array.from({ length: 40 }, (_, i) => s.insertMessage(message(`c${i}`, { created: T0 + i, recipients: rcpts(3) }))),
        s.insertMessage(message('dup')),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 40);
      assert.equal(results[40]!.status, 'rejected');
      const st = await s.stats();
      assert.equal(st.messages, 41);
      assert.equal(st.recipients.queued, 40 * 3 + 1);
      assert.equal((await s.getMessage('c17'))!.recipients.length, 3);
    }));

    test('listMessages: newest first, then by id; filters and limit', () => withFreshStore(backend, async (s) => {
      await s.insertMessage(message('b', { created: T0 + 1 }));
      await s.insertMessage(message('a', { created: T0 + 1, sender: 'zed@sender.example.test', authUser: null }));
      await s.insertMessage(message('c', { created: T0 + 2, recipients: [{ address: 'x@Other.example.test' }, { address: 'y@dest.example.test' }] }));
      await s.insertMessage(message('d', { created: T0 }));
      assert.deepEqual((await s.listMessages()).map((m) => m.id), ['c', 'a', 'b', 'd']);
      assert.deepEqual((await s.listMessages({ limit: 2 })).map((m) => m.id), ['c', 'a']);
      assert.deepEqual((await s.listMessages({ sender: 'zed@sender.example.test' })).map((m) => m.id), ['a']);
      assert.deepEqual((await s.listMessages({ authUser: 'ann@sender.example.test' })).map((m) => m.id), ['c', 'b', 'd']);
      assert.deepEqual((await s.listMessages({ domain: 'OTHER.example.test' })).map((m) => m.id), ['c']);
      const c = await s.getMessage('c');
      const d = await s.getMessage('d');
      await s.recordOutcomes([
        { id: c!.recipients[0]!.id, state: 'deferred', nextAttempt: T0 + 300_000 },
        { id: d!.recipients[0]!.id, state: 'delivered', nextAttempt: null, doneAt: T0 + 5 },
      ]);
      assert.deepEqual((await s.listMessages({ state: 'deferred' })).map((m) => m.id), ['c']);
      assert.deepEqual((await s.listMessages({ state: 'queued' })).map((m) => m.id), ['c', 'a', 'b']);
      assert.deepEqual((await s.listMessages({ state: 'delivered' })).map((m) => m.id), ['d']);
      // State and domain must hold for the same recipient.
      assert.deepEqual((await s.listMessages({ state: 'deferred', domain: 'dest.example.test' })).map((m) => m.id), []);
      assert.deepEqual((await s.listMessages({ state: 'queued', domain: 'dest.example.test' })).map((m) => m.id), ['c', 'a', 'b']);
      const listed = (await s.listMessages({ domain: 'other.example.test' }))[0]!;
      assert.deepEqual(listed.recipients.map((r) => [r.address, r.state]), [['x@Other.example.test', 'deferred'], ['y@dest.example.test', 'queued']]);
    }));

    test('claimDue leases due recipients in due order, up to the limit', () => withFreshStore(backend, async (s) => {
      await s.insertMessage(message('late', { created: T0 + 50, recipients: rcpts(2) }));
      await s.insertMessage(message('early', { created: T0 + 10, recipients: rcpts(2) }));
      await s.insertMessage(message('future', { created: T0 + 1000 }));
      await s.insertMessage(message('done', { created: T0 }));
      const done = await s.getMessage('done');
      await s.recordOutcomes([{ id: done!.recipients[0]!.id, state: 'delivered', nextAttempt: null, doneAt: T0 }]);
      assert.equal(await s.nextDue(), T0 + 10);

      const first = await s.claimDue(T0 + 100, 3, 'node-a', 30_000);
      assert.deepEqual(first.map((r) => [r.messageId, r.address, r.leaseOwner, r.nextAttempt]), [
        ['early', 'r0@dest.example.test', 'node-a', T0 + 10],
        ['early', 'r1@dest.example.test', 'node-a', T0 + 10],
        ['late', 'r0@dest.example.test', 'node-a', T0 + 50],
      ]);
      const second = await s.claimDue(T0 + 100, 10, 'node-b', 30_000);
      assert.deepEqual(second.map((r) => [r.messageId, r.address, r.leaseOwner]), [['late', 'r1@dest.example.test', 'node-b']]);
      assert.deepEqual(await s.claimDue(T0 + 100, 10, 'node-c', 30_000), []);

      const early = await s.getMessage('early');
      assert.deepEqual(early!.recipients.map((r) => [r.nextAttempt, r.leaseOwner, r.state]),
        [[T0 + 100 + 30_000, 'node-a', 'queued'], [T0 + 100 + 30_000, 'node-a', 'queued']]);
      assert.equal(await s.nextDue(), T0 + 1000);
    }));

    test('a lease that runs out makes the recipient due again for another node', () => withFreshStore(backend, async (s) => {
      await s.insertMessage(message('q'));
      const [r] = await s.claimDue(T0, 10, 'dead-node', 1000);
      assert.equal(r!.leaseOwner, 'dead-node');
      assert.deepEqual(await s.claimDue(T0 + 999, 10, 'other', 1000), []);
      const again = await s.claimDue(T0 + 1000, 10, 'other', 1000);
      assert.deepEqual(again.map((x) => [x.id, x.leaseOwner, x.nextAttempt]), [[r!.id, 'other', T0 + 1000]]);
    }));

    test('renewLeases extends only the leases the node still holds', () => withFreshStore(backend, async (s) => {
      assert.ok(s.renewLeases, 'renewLeases is implemented');
      await s.insertMessage(message('q', { recipients: rcpts(3) }));
      const [r0, r1, r2] = await s.claimDue(T0, 10, 'node-a', 1000);
      // All three leases ran out and node-b took one (r0: equal due times go by id); r2 was
      // finished. Only r1 is still node-a's.
      assert.deepEqual((await s.claimDue(T0 + 1000, 1, 'node-b', 1000)).map((r) => r.id), [r0!.id]);
      await s.recordOutcomes([{ id: r2!.id, state: 'delivered', nextAttempt: null, doneAt: T0 + 5 }]);
      await s.renewLeases!([r0!.id, r1!.id, r2!.id], 'node-a', T0 + 60_000);
      assert.deepEqual((await s.getMessage('q'))!.recipients.map((r) => [r.id, r.leaseOwner, r.nextAttempt, r.state]), [
        [r0!.id, 'node-b', T0 + 2000, 'queued'],
        [r1!.id, 'node-a', T0 + 60_000, 'queued'],
        [r2!.id, null, null, 'delivered'],
      ]);
      await s.renewLeases!([], 'node-a', T0 + 90_000);
    }));

    test('two handles claiming at once never take the same recipient', () => withBacking(backend, async (_b, open) => {
      const a = await open();
      const b = await open();
      // Every claimer's connection is up before the race starts, so both nodes take part.
      await Promise.all([a, b].flatMap((x) => [x.nextDue(), x.nextDue(), x.nextDue()]));
      await Promise.all(Array.from({ length: 40 }, (_, i) =>
        a.insertMessage(message(`m${i}`, { created: T0 + (i % 7), recipients: rcpts(10, `d${i % 3}.example.test`) }))));
      const [fromA, fromB] = await Promise.all([claimAll(a, 'node-a', 3, T0 + 10), claimAll(b, 'node-b', 3, T0 + 10)]);
      const idsA = new Set(fromA.map((r) => r.id));
      const idsB = new Set(fromB.map((r) => r.id));
      assert.equal(idsA.size, fromA.length, 'node-a got a recipient twice');
      assert.equal(idsB.size, fromB.length, 'node-b got a recipient twice');
      assert.equal([...idsA].filter((id) => idsB.has(id)).length, 0, 'both nodes got the same recipient');
      assert.equal(idsA.size + idsB.size, 400);
      assert.ok(idsA.size > 0 && idsB.size > 0, `one node took all: ${idsA.size} / ${idsB.size}`);
      const owners = new Map<number, string>();
      for (const m of await a.listMessages()) for (const r of m.recipients) owners.set(r.id, r.leaseOwner!);
      for (const r of fromA) assert.equal(owners.get(r.id), 'node-a');
      for (const r of fromB) assert.equal(owners.get(r.id), 'node-b');
    }));

    test('recordOutcomes applies updates and appends the attempt history', () => withFreshStore(backend, async (s) => {
      await s.insertMessage(message('q', { recipients: [{ address: 'a@dest.example.test' }, { address: 'b@dest.example.test' }] }));
      const [ra, rb] = await s.claimDue(T0, 10, 'n1', 30_000);
      await s.recordOutcomes([
        { id: ra!.id, state: 'deferred', nextAttempt: T0 + 300_000, lastReply: '451 4.3.0 busy', incrementAttempts: true,
          nextDelayNotice: T0 + 4 * 3_600_000 },
        { id: rb!.id, state: 'delivered', nextAttempt: null, lastReply: '250 2.0.0 ok', incrementAttempts: true, doneAt: T0 + 20 },
      ], attempt('q', T0 + 20, { recipients: ['a@dest.example.test', 'b@dest.example.test'], result: 'mixed', reply: '451 4.3.0 busy' }));
      let m = await s.getMessage('q');
      assert.deepEqual(m!.recipients.map(({ id: _i, messageId: _m, address: _a, domain: _d, orcpt: _o, notify: _n, ...r }) => r), [
        { state: 'deferred', attempts: 1, nextAttempt: T0 + 300_000, leaseOwner: null, lastReply: '451 4.3.0 busy',
          lastAttempt: T0 + 20, doneAt: null, nextDelayNotice: T0 + 4 * 3_600_000 },
        { state: 'delivered', attempts: 1, nextAttempt: null, leaseOwner: null, lastReply: '250 2.0.0 ok',
          lastAttempt: T0 + 20, doneAt: T0 + 20, nextDelayNotice: null },
      ]);

      // Fields an update leaves out keep their values; a second attempt comes after the first.
      await s.claimDue(T0 + 300_000, 10, 'n2', 30_000);
      await s.recordOutcomes([{ id: ra!.id, state: 'bounced', nextAttempt: null, incrementAttempts: true, doneAt: T0 + 300_010, nextDelayNotice: null }],
        attempt('q', T0 + 300_010, { recipients: ['a@dest.example.test'], result: 'bounced', reply: null, host: null, ip: null, tls: false, node: 'n2' }));
      m = await s.getMessage('q');
      assert.deepEqual([m!.recipients[0]!.state, m!.recipients[0]!.attempts, m!.recipients[0]!.lastReply, m!.recipients[0]!.lastAttempt,
        m!.recipients[0]!.nextDelayNotice, m!.recipients[0]!.leaseOwner], ['bounced', 2, '451 4.3.0 busy', T0 + 300_010, null, null]);
      assert.deepEqual(await s.attempts('q'), [
        { messageId: 'q', time: T0 + 20, recipients: ['a@dest.example.test', 'b@dest.example.test'], host: 'mx.dest.example.test',
          ip: '127.0.0.2', tls: true, reply: '451 4.3.0 busy', result: 'mixed', node: 'n1' },
        { messageId: 'q', time: T0 + 300_010, recipients: ['a@dest.example.test'], host: null, ip: null, tls: false,
          reply: null, result: 'bounced', node: 'n2' },
      ]);
      assert.deepEqual(await s.attempts('nope'), []);
      assert.equal(await s.nextDue(), null);
    }));

    test('stats count recipients by state, messages and the oldest unfinished', () => withFreshStore(backend, async (s) => {
      assert.deepEqual(await s.stats(), {
        recipients: { queued: 0, deferred: 0, delivered: 0, bounced: 0, held: 0 }, messages: 0, oldestQueued: null,
      });
      await s.insertMessage(message('old', { created: T0 }));
      await s.insertMessage(message('mid', { created: T0 + 10, recipients: rcpts(3) }));
      await s.insertMessage(message('new', { created: T0 + 20 }));
      const old = (await s.getMessage('old'))!.recipients[0]!;
      const mid = (await s.getMessage('mid'))!.recipients;
      await s.recordOutcomes([
        { id: old.id, state: 'delivered', nextAttempt: null, doneAt: T0 + 1 },
        { id: mid[0]!.id, state: 'bounced', nextAttempt: null, doneAt: T0 + 11 },
        { id: mid[1]!.id, state: 'held', nextAttempt: null },
        { id: mid[2]!.id, state: 'deferred', nextAttempt: T0 + 500 },
      ]);
      assert.deepEqual(await s.stats(), {
        recipients: { queued: 1, deferred: 1, delivered: 1, bounced: 1, held: 1 }, messages: 3, oldestQueued: T0 + 10,
      });
    }));

    test('pruneBodies drops the bytes of finished messages only; history stays', () => withFreshStore(backend, async (s) => {
      await s.insertMessage(message('fin', { recipients: rcpts(2) }));
      await s.insertMessage(message('half', { recipients: rcpts(2) }));
      const fin = (await s.getMessage('fin'))!.recipients;
      const half = (await s.getMessage('half'))!.recipients;
      await s.recordOutcomes([
        { id: fin[0]!.id, state: 'delivered', nextAttempt: null, doneAt: T0 },
        { id: fin[1]!.id, state: 'bounced', nextAttempt: null, doneAt: T0 },
      ], attempt('fin', T0));
      await s.recordOutcomes([{ id: half[0]!.id, state: 'delivered', nextAttempt: null, doneAt: T0 }]);
      assert.equal(await s.pruneBodies(), 1);
      assert.equal(await s.pruneBodies(), 0);
      assert.equal(await s.readBody('fin'), null);
      assert.ok(await s.readBody('half'));
      assert.equal((await s.getMessage('fin'))!.size, Buffer.byteLength('Subject: fin\r\n\r\nhello\r\n'));
      assert.equal((await s.attempts('fin')).length, 1);
    }));

    test('deleteMessage removes the message, its recipients and its history', () => withFreshStore(backend, async (s) => {
      await s.insertMessage(message('q', { recipients: rcpts(2) }));
      await s.insertMessage(message('keep'));
      await s.recordOutcomes([], attempt('q', T0));
      assert.equal(await s.deleteMessage('q'), true);
      assert.equal(await s.deleteMessage('q'), false);
      assert.equal(await s.getMessage('q'), null);
      assert.deepEqual(await s.attempts('q'), []);
      assert.deepEqual((await s.stats()).recipients.queued, 1);
      assert.deepEqual((await s.claimDue(T0, 10, 'n', 1000)).map((r) => r.messageId), ['keep']);
    }));

    test('accounts and grants', () => withFreshStore(backend, async (s) => {
      const before = Date.now();
      assert.equal(await s.addAccount('ann@example.test', 'hash-1'), true);
      assert.equal(await s.addAccount('ann@example.test', 'hash-2'), false);
      assert.equal(await s.addAccount('Zed@example.test', 'hash-z'), true);
      const ann = await s.getAccount('ann@example.test');
      assert.equal(ann!.hash, 'hash-1');
      assert.deepEqual(ann!.grants, []);
      assert.ok(ann!.created >= before && ann!.created <= Date.now());
      assert.equal(await s.getAccount('ANN@example.test'), null);

      assert.equal(await s.setPassword('ann@example.test', 'hash-3'), true);
      assert.equal(await s.setPassword('nobody@example.test', 'x'), false);
      assert.equal((await s.getAccount('ann@example.test'))!.hash, 'hash-3');

      assert.equal(await s.addGrant('ann@example.test', 'sales@example.test'), true);
      assert.equal(await s.addGrant('ann@example.test', '*@ann.example.test'), true);
      assert.equal(await s.addGrant('ann@example.test', 'sales@example.test'), false);
      await assert.rejects(s.addGrant('nobody@example.test', '*'));
      assert.deepEqual((await s.getAccount('ann@example.test'))!.grants, ['*@ann.example.test', 'sales@example.test']);
      assert.equal(await s.removeGrant('ann@example.test', 'sales@example.test'), true);
      assert.equal(await s.removeGrant('ann@example.test', 'sales@example.test'), false);

      // Byte order, as in SQLite: upper case before lower case.
      assert.deepEqual((await s.listAccounts()).map((a) => [a.address, a.grants]),
        [['Zed@example.test', []], ['ann@example.test', ['*@ann.example.test']]]);

      assert.equal(await s.deleteAccount('ann@example.test'), true);
      assert.equal(await s.deleteAccount('ann@example.test'), false);
      assert.equal(await s.addAccount('ann@example.test', 'hash-4'), true);
      assert.deepEqual((await s.getAccount('ann@example.test'))!.grants, []);
    }));

    test('blocks', () => withFreshStore(backend, async (s) => {
      const b1 = { principal: 'user:ann@example.test', reason: 'spam', since: T0 + 5, counts: { spam: 3, invalid: 0 } };
      const b2 = { principal: 'ip:127.0.0.9', reason: 'invalid recipients', since: T0, counts: { invalid: 5 } };
      assert.equal(await s.addBlock(b1), true);
      assert.equal(await s.addBlock({ ...b1, reason: 'other', since: T0 + 99 }), false);
      assert.equal(await s.addBlock(b2), true);
      assert.deepEqual(await s.getBlock('user:ann@example.test'), b1);
      assert.equal(await s.getBlock('user:bob@example.test'), null);
      assert.deepEqual(await s.listBlocks(), [b2, b1]);
      assert.equal(await s.removeBlock('ip:127.0.0.9'), true);
      assert.equal(await s.removeBlock('ip:127.0.0.9'), false);
      assert.deepEqual(await s.listBlocks(), [b1]);
    }));

    // Events are counted in 10-second buckets (T0 starts one), so times here are 10 s apart.
    test('events count within a window and prune before a time', () => withFreshStore(backend, async (s) => {
      await s.addEvent('ip:127.0.0.9', 'invalid', T0);
      await s.addEvent('ip:127.0.0.9', 'invalid', T0 + 10_000, 3);
      await s.addEvent('ip:127.0.0.9', 'invalid', T0 + 20_000);
      await s.addEvent('ip:127.0.0.9', 'spam', T0 + 20_000, 7);
      await s.addEvent('ip:127.0.0.8', 'invalid', T0 + 20_000);
      assert.equal(await s.countEvents('ip:127.0.0.9', 'invalid', T0), 5);
      assert.equal(await s.countEvents('ip:127.0.0.9', 'invalid', T0 + 10_000), 4);
      // A window that starts inside a bucket counts the whole bucket: up to 10 s more.
      assert.equal(await s.countEvents('ip:127.0.0.9', 'invalid', T0 + 15_000), 4);
      assert.equal(await s.countEvents('ip:127.0.0.9', 'invalid', T0 + 20_000), 1);
      assert.equal(await s.countEvents('ip:127.0.0.9', 'spam', T0), 7);
      assert.equal(await s.countEvents('ip:127.0.0.7', 'invalid', T0), 0);
      await s.addEvent('ip:127.0.0.9', 'invalid', T0 + 20_005, 2);
      assert.equal(await s.countEvents('ip:127.0.0.9', 'invalid', T0 + 20_000), 3, 'same bucket adds up');
      await s.pruneEvents(T0 + 10_000);
      assert.equal(await s.countEvents('ip:127.0.0.9', 'invalid', 0), 6);
      // Pruning never drops a bucket that still holds events at or after `before`.
      await s.pruneEvents(T0 + 25_000);
      assert.equal(await s.countEvents('ip:127.0.0.9', 'invalid', 0), 3);
      await s.pruneEvents(T0 + 30_000);
      assert.equal(await s.countEvents('ip:127.0.0.9', 'invalid', 0), 0);
      assert.equal(await s.countEvents('ip:127.0.0.9', 'spam', 0), 0);
    }));

    test('kv: set, overwrite, expire, delete', () => withFreshStore(backend, async (s) => {
      const later = Date.now() + 3_600_000;
      assert.equal(await s.kvGet('k'), null);
      await s.kvSet('k', 'v1', later);
      assert.equal(await s.kvGet('k'), 'v1');
      await s.kvSet('k', 'v2', later);
      assert.equal(await s.kvGet('k'), 'v2');
      await s.kvSet('gone', 'x', Date.now() - 1);
      assert.equal(await s.kvGet('gone'), null);
      await s.kvSet('gone', 'y', later);
      assert.equal(await s.kvGet('gone'), 'y');
      await s.kvDelete('k');
      assert.equal(await s.kvGet('k'), null);
      await s.kvDelete('k');
    }));

    test('state written by one handle is seen by another (a restart, or a second node)', () =>
      withBacking(backend, async (_b, open) => {
        const a = await open();
        await a.insertMessage(message('q'));
        await a.addAccount('ann@example.test', 'h');
        await a.addBlock({ principal: 'ip:127.0.0.9', reason: 'spam', since: T0, counts: { spam: 5 } });
        await a.addEvent('ip:127.0.0.8', 'spam', T0, 2);
        await a.kvSet('session', 's', Date.now() + 60_000);
        const b = await open();
        assert.equal((await b.getMessage('q'))!.recipients.length, 1);
        assert.equal((await b.getAccount('ann@example.test'))!.hash, 'h');
        assert.equal((await b.getBlock('ip:127.0.0.9'))!.reason, 'spam');
        await b.addEvent('ip:127.0.0.8', 'spam', T0 + 1, 1);
        assert.equal(await a.countEvents('ip:127.0.0.8', 'spam', T0), 3);
        assert.equal(await b.kvGet('session'), 's');
      }));
  });
}
