/**
 * Sender restrictions on a real SQLite store with a hand-driven clock: the invalid-recipient
 * and spam blocks with their windows, counting once per message, the hourly rates, lifting a
 * block, blocks surviving a reopened store, and principals as operators write them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { configSchema, type Config } from '../../src/config/schema.js';
import type { ScanOutcome } from '../../src/intake/restrictions.js';
import type { Principal, Submission } from '../../src/intake/types.js';
import {
  recordDeliveryFailures, recordInvalidRecipient, unblockPrincipal,
} from '../../src/policy/blocks.js';
import { parsePrincipal } from '../../src/policy/principal.js';
import { buildRestrictions, type SenderRestrictions } from '../../src/policy/restrictions.js';
import { replies } from '../../src/reply/reply.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { trackTempDir } from '../helpers/procs.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 3, 10, 0, 0);

let dir: string;
let store: SqliteStore;
let clock: number;
const now = () => clock;

function restrictions(over: Record<string, unknown> = {}): SenderRestrictions {
  const cfg = configSchema.parse(over) as Config;
  return buildRestrictions(cfg, store, now);
}

let sessions = 0;
function session(authUser: string | null = 'ann@example.net', clientIp = '192.0.2.10'): Principal {
  return { sessionId: `s${++sessions}`, clientIp, authUser, trusted: false, tls: true };
}

function submission(who: Principal, recipients = 1): Submission {
  return {
    ...who, heloName: 'client.example.test', clientHostname: null, protocol: 'ESMTPSA', tlsInfo: null,
    sender: 'ann@example.net', recipients: Array.from({ length: recipients }, (_, i) => ({ address: `r${i}@d1.example.test` })),
    envid: null, ret: null, eightBit: false, smtputf8: false,
  };
}

const spamRefusal: ScanOutcome = {
  scanner: 'rspamd',
  verdict: { kind: 'reject', reason: 'spam', reply: replies.spam('score 16.00, limit 15'), score: 16, detail: 'x' },
};
const scored = (score: number): ScanOutcome => ({ scanner: 'rspamd', verdict: { kind: 'clean', score } });

/** One transaction with one recipient refused for its syntax. */
async function badRecipientTxn(r: SenderRestrictions, who = session()): Promise<void> {
  assert.equal(await r.beforeMail(who), null);
  await r.onInvalidRecipient(who, 'bad..dots@example.net');
}

beforeEach(() => {
  dir = trackTempDir(mkdtempSync(path.join(os.tmpdir(), 'outpost-restrict-')));
  store = new SqliteStore(dir);
  clock = T0;
});

afterEach(async () => {
  await store.close();
});

describe('invalid recipients', () => {
  test('five transactions with an invalid recipient block the mailbox; MAIL gets 550 5.7.1', async () => {
    const r = restrictions();
    for (let i = 0; i < 4; i++) await badRecipientTxn(r);
    assert.equal(await store.getBlock('user:ann@example.net'), null);
    await badRecipientTxn(r);
    const block = await store.getBlock('user:ann@example.net');
    assert.deepEqual(block, {
      principal: 'user:ann@example.net', reason: 'messages to invalid recipients', since: T0,
      counts: { invalid_recipient_messages: 5, spam_messages: 0 },
    });
    const reply = await r.beforeMail(session());
    assert.deepEqual(reply, replies.senderBlocked);
    assert.equal(reply!.code, 550);
    assert.equal(reply!.enhanced, '5.7.1');
    assert.match(reply!.text, /suspended.*contact support/);
  });

  test('several invalid recipients in one transaction count once', async () => {
    const r = restrictions();
    const who = session();
    await r.beforeMail(who);
    for (let i = 0; i < 10; i++) await r.onInvalidRecipient(who, `x${i}`);
    assert.equal(await store.countEvents('user:ann@example.net', 'invalid_recipient', 0), 1);
    // The next transaction of the same session counts again.
    await r.beforeMail(who);
    await r.onInvalidRecipient(who, 'y');
    assert.equal(await store.countEvents('user:ann@example.net', 'invalid_recipient', 0), 2);
  });

  test('outside the 10-minute window they do not add up', async () => {
    const r = restrictions();
    for (let i = 0; i < 4; i++) await badRecipientTxn(r);
    clock += 11 * MIN;
    await badRecipientTxn(r);
    assert.equal(await store.getBlock('user:ann@example.net'), null);
  });

  test('bounces from remote servers: 5.1.1, 5.1.2, 5.1.10 count once per message; other failures do not', async () => {
    const limits = configSchema.parse({}).limits;
    const msg = (id: string) => ({ id, principal: 'ip:192.0.2.20', kind: 'message' });
    const failed = (enhanced: string | null, source = 'remote') => ({ kind: 'failed', reply: { enhanced, source } });
    assert.equal(await recordDeliveryFailures(store, msg('Q1'), [failed('5.1.1'), failed('5.1.1')], clock, limits), false);
    assert.equal(await recordDeliveryFailures(store, msg('Q1'), [failed('5.1.1')], clock, limits), false);
    assert.equal(await recordDeliveryFailures(store, msg('Q2'), [failed('5.7.1'), failed(null)], clock, limits), false);
    assert.equal(await recordDeliveryFailures(store, msg('Q3'), [failed('5.1.1', 'local')], clock, limits), false);
    assert.equal(await recordDeliveryFailures(store, { ...msg('Q4'), kind: 'notice' }, [failed('5.1.1')], clock, limits), false);
    assert.equal(await store.countEvents('ip:192.0.2.20', 'invalid_recipient', 0), 1);
    await recordDeliveryFailures(store, msg('Q5'), [failed('5.1.2')], clock, limits);
    await recordDeliveryFailures(store, msg('Q6'), [failed('5.1.10')], clock, limits);
    await recordInvalidRecipient(store, 'ip:192.0.2.20', 'Q7', clock, limits);
    assert.equal(await recordInvalidRecipient(store, 'ip:192.0.2.20', 'Q8', clock, limits), true, 'the fifth blocks');
    assert.equal((await store.getBlock('ip:192.0.2.20'))!.reason, 'messages to invalid recipients');
  });

  test('a message counted at RCPT is not counted again when it bounces', async () => {
    const r = restrictions();
    const who = session();
    await badRecipientTxn(r, who);
    await r.afterScan(submission(who), []);
    await r.onAccepted(submission(who), 'QID1', 100);
    const limits = configSchema.parse({}).limits;
    await recordInvalidRecipient(store, 'user:ann@example.net', 'QID1', clock, limits);
    assert.equal(await store.countEvents('user:ann@example.net', 'invalid_recipient', 0), 1);
  });
});

describe('spam', () => {
  test('three spam refusals from one client address block it', async () => {
    const r = restrictions({ scan: { rspamd: { url: 'http://127.0.0.1:11333' } } });
    const ip = () => session(null, '192.0.2.30');
    for (let i = 0; i < 2; i++) assert.equal(await r.afterScan(submission(ip()), [spamRefusal]), null);
    assert.deepEqual(await r.afterScan(submission(ip()), [spamRefusal]), replies.senderBlocked);
    const block = await store.getBlock('ip:192.0.2.30');
    assert.equal(block!.reason, 'messages with a high spam score');
    assert.deepEqual(block!.counts, { invalid_recipient_messages: 0, spam_messages: 3 });
    assert.deepEqual(await r.beforeMail(ip()), replies.senderBlocked);
    assert.equal(await r.beforeMail(session('ann@example.net', '192.0.2.30')), null, 'a logged-in mailbox is its own principal');
  });

  test('GTUBE refused by the baseline counts as spam too', async () => {
    const r = restrictions();
    const gtube: ScanOutcome = { scanner: 'baseline', verdict: { kind: 'reject', reason: 'spam', reply: replies.spam('GTUBE test string'), detail: 'GTUBE' } };
    for (let i = 0; i < 3; i++) await r.afterScan(submission(session(null, '192.0.2.31')), [gtube]);
    assert.ok(await store.getBlock('ip:192.0.2.31'));
  });

  test('high_score: accepted messages scoring at or above it count; lower ones and malware do not', async () => {
    const r = restrictions({ scan: { rspamd: { url: 'http://127.0.0.1:11333', high_score: 8 } } });
    const who = () => session('bob@example.net');
    await r.afterScan(submission(who()), [scored(7.99)]);
    const malware: ScanOutcome = { scanner: 'clamd', verdict: { kind: 'reject', reason: 'malware', reply: replies.malware('x'), detail: 'x' } };
    await r.afterScan(submission(who()), [malware]);
    assert.equal(await store.countEvents('user:bob@example.net', 'spam', 0), 0);
    await r.afterScan(submission(who()), [scored(8)]);
    await r.afterScan(submission(who()), [scored(12)]);
    assert.equal(await r.afterScan(submission(who()), [scored(14.5)]), replies.senderBlocked);
  });

  test('without high_score only refusals count (the reject score)', async () => {
    const r = restrictions({ scan: { rspamd: { url: 'http://127.0.0.1:11333' } } });
    for (let i = 0; i < 5; i++) await r.afterScan(submission(session('carl@example.net')), [scored(14.9)]);
    assert.equal(await store.getBlock('user:carl@example.net'), null);
  });

  test('outside the window the count starts over', async () => {
    const r = restrictions();
    const who = () => session(null, '192.0.2.32');
    await r.afterScan(submission(who()), [spamRefusal]);
    await r.afterScan(submission(who()), [spamRefusal]);
    // Events are counted in 10-second buckets: they leave a window up to 10 s late.
    clock += 10 * MIN + 10_000;
    await r.afterScan(submission(who()), [spamRefusal]);
    assert.equal(await store.getBlock('ip:192.0.2.32'), null);
  });
});

describe('lifting a block', () => {
  test('unblocked: MAIL is accepted, and the old events no longer count', async () => {
    const r = restrictions();
    for (let i = 0; i < 5; i++) await badRecipientTxn(r);
    assert.deepEqual(await r.beforeMail(session()), replies.senderBlocked);
    clock += MIN;
    assert.equal(await unblockPrincipal(store, 'user:ann@example.net', clock), true);
    assert.equal(await unblockPrincipal(store, 'user:ann@example.net', clock), false);
    assert.equal(await r.beforeMail(session()), null);
    await badRecipientTxn(r);
    assert.equal(await store.getBlock('user:ann@example.net'), null, 'one new mistake does not block again');
  });

  test('a block survives reopening the store', async () => {
    const r = restrictions();
    for (let i = 0; i < 5; i++) await badRecipientTxn(r);
    await store.close();
    store = new SqliteStore(dir);
    assert.deepEqual(await restrictions().beforeMail(session()), replies.senderBlocked);
  });
});

describe('rates', () => {
  test('messages per hour: 451 4.7.1 at MAIL until the hour allows again', async () => {
    const r = restrictions({ limits: { messages_per_hour: 3 } });
    for (let i = 0; i < 3; i++) {
      assert.equal(await r.beforeMail(session()), null);
      await r.onAccepted(submission(session()), `Q${i}`, 10);
      clock += MIN;
    }
    const reply = await r.beforeMail(session());
    assert.deepEqual(reply, replies.rateMessages);
    assert.equal(reply!.code, 451);
    assert.equal(reply!.enhanced, '4.7.1');
    // Events are counted in 10-second buckets: they leave a window up to 10 s late.
    clock = T0 + 60 * MIN + 10_000;
    assert.equal(await r.beforeMail(session()), null, 'the first message left the window');
    assert.equal(await store.getBlock('user:ann@example.net'), null, 'a rate limit is no block');
  });

  test('recipients per message: 452 4.5.3 for the 101st', async () => {
    const r = restrictions();
    const who = session();
    assert.equal(await r.onRecipient(who, 'a@d1.example.test', 99), null);
    const reply = await r.onRecipient(who, 'a@d1.example.test', 100);
    assert.deepEqual(reply, replies.tooManyRecipients);
    assert.equal(reply!.code, 452);
    assert.equal(reply!.enhanced, '4.5.3');
  });

  test('recipients per hour: 452 4.5.3 once the hour holds the limit', async () => {
    const r = restrictions({ limits: { recipients_per_hour: 10 } });
    await r.onAccepted(submission(session(), 8), 'Q1', 10);
    const who = session();
    assert.equal(await r.onRecipient(who, 'x@d1.example.test', 0), null);
    assert.equal(await r.onRecipient(who, 'y@d1.example.test', 1), null);
    assert.deepEqual(await r.onRecipient(who, 'z@d1.example.test', 2), replies.rateRecipients);
    assert.equal(replies.rateRecipients.code, 452);
    assert.equal(replies.rateRecipients.enhanced, '4.5.3');
    clock += 61 * MIN;
    assert.equal(await r.onRecipient(who, 'z@d1.example.test', 2), null);
  });
});

describe('principals as operators write them', () => {
  const cases: Array<[string, string | null]> = [
    ['user:Ann@Example.NET', 'user:ann@example.net'],
    ['ann@example.net', 'user:ann@example.net'],
    ['ip:192.0.2.1', 'ip:192.0.2.1'],
    ['192.0.2.1', 'ip:192.0.2.1'],
    ['::FFFF:192.0.2.1', 'ip:192.0.2.1'],
    ['[2001:DB8::1]', 'ip:2001:db8::1'],
    ['ip:not-an-ip', null],
    ['user:nobody', null],
    ['somebody', null],
  ];
  for (const [input, want] of cases) {
    test(`${input} -> ${want ?? 'error'}`, () => {
      const p = parsePrincipal(input);
      assert.deepEqual(p.ok ? p.principal : null, want);
    });
  }
});
