/**
 * The intake pipeline in process, with scripted scanners and a recording restrictions
 * object: the order of the hooks, what each verdict does, and that nothing is stored for a
 * refused message. (The SMTP tests cover the same paths through real clients.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AppContext } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import { checkRecipient, checkSender, submitMessage } from '../../src/intake/intake.js';
import type { Restrictions, ScanOutcome } from '../../src/intake/restrictions.js';
import type { Principal, Submission } from '../../src/intake/types.js';
import { replies, reply, type Reply } from '../../src/reply/reply.js';
import type { Scanner, ScanVerdict } from '../../src/scan/scanner.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { TEST_DNS } from '../helpers/dns.js';
import { trackTempDir } from '../helpers/procs.js';

class Recorder implements Restrictions {
  calls: string[] = [];
  outcomes: ScanOutcome[] = [];
  mailReply: Reply | null = null;
  afterScanReply: Reply | null = null;
  async beforeMail(who: Principal) {
    this.calls.push(`beforeMail ${who.sessionId}`);
    return this.mailReply;
  }
  async onRecipient(_who: Principal, rcpt: string, n: number) {
    this.calls.push(`onRecipient ${rcpt} ${n}`);
    return null;
  }
  async afterScan(_sub: Submission, outcomes: ScanOutcome[]) {
    this.calls.push('afterScan');
    this.outcomes = outcomes;
    return this.afterScanReply;
  }
  async onAccepted(_sub: Submission, qid: string, size: number) {
    this.calls.push(`onAccepted ${qid} ${size > 0}`);
  }
}

function scanner(name: string, verdict: () => ScanVerdict | Promise<ScanVerdict>): Scanner {
  return { name, scan: async () => verdict() };
}

const who: Principal = { sessionId: 's1', clientIp: '192.0.2.9', authUser: null, trusted: true, tls: false };

function submission(): Submission {
  return {
    ...who, heloName: 'client.example.test', clientHostname: null, protocol: 'ESMTP', tlsInfo: null,
    sender: 'a@example.test', recipients: [{ address: 'b@example.net' }], envid: null, ret: null,
    eightBit: false, smtputf8: false,
  };
}

const MESSAGE = Buffer.from('Subject: x\r\nMessage-ID: <x@y>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\nhi\r\n');

describe('intake pipeline', () => {
  let ctx: AppContext;
  let rec: Recorder;
  let store: SqliteStore;

  before(() => {
    const dir = trackTempDir(mkdtempSync(path.join(os.tmpdir(), 'outpost-intake-')));
    const cfg = validateConfig({ hostname: 'gw.example.test', data_dir: dir, dns: { servers: [TEST_DNS] } }, null);
    store = new SqliteStore(dir);
    rec = new Recorder();
    ctx = { cfg, store, scanners: [], now: Date.now, node: 'n1', restrictions: rec };
  });
  after(async () => {
    await store.close();
  });

  it('asks the restrictions at MAIL and RCPT, after the relay check', async () => {
    rec.calls = [];
    assert.equal(await checkSender(ctx, who, 'a@example.test'), null);
    assert.equal(await checkRecipient(ctx, who, 'b@example.net', 2), null);
    assert.deepEqual(rec.calls, ['beforeMail s1', 'onRecipient b@example.net 2']);

    rec.calls = [];
    const outsider = { ...who, trusted: false };
    assert.equal((await checkSender(ctx, outsider, 'a@example.test'))?.enhanced, '5.7.0');
    assert.deepEqual(rec.calls, [], 'no restriction asked before the relay check');

    rec.mailReply = replies.senderBlocked;
    assert.deepEqual(await checkSender(ctx, who, 'a@example.test'), replies.senderBlocked);
    rec.mailReply = null;
  });

  it('stops at a rejecting scanner, tells afterScan, stores nothing', async () => {
    rec.calls = [];
    const spam = reply(550, '5.7.1', 'spam');
    let third = false;
    ctx.scanners = [
      scanner('one', () => ({ kind: 'clean', headers: [['X-One', 'yes']] })),
      scanner('two', () => ({ kind: 'reject', reason: 'spam', reply: spam, score: 20, detail: 'GTUBE' })),
      scanner('three', () => {
        third = true;
        return { kind: 'clean' };
      }),
    ];
    const before = (await store.listMessages()).length;
    const r = await submitMessage(ctx, submission(), MESSAGE);
    assert.deepEqual(r, { ok: false, reply: spam });
    assert.equal(third, false);
    assert.deepEqual(rec.outcomes.map((o) => `${o.scanner}:${o.verdict.kind}`), ['one:clean', 'two:reject']);
    assert.deepEqual(rec.calls, ['afterScan']);
    assert.equal((await store.listMessages()).length, before);
  });

  it('refuses with the reply of an unavailable scanner, and 451 4.7.1 for one that throws', async () => {
    const down = reply(451, '4.7.1', 'clamd unavailable');
    ctx.scanners = [scanner('clamd', () => ({ kind: 'unavailable', reply: down, detail: 'ECONNREFUSED' }))];
    assert.deepEqual(await submitMessage(ctx, submission(), MESSAGE), { ok: false, reply: down });
    ctx.scanners = [scanner('broken', () => Promise.reject(new Error('bug')))];
    const r = await submitMessage(ctx, submission(), MESSAGE);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && `${r.reply.code} ${r.reply.enhanced}`, '451 4.7.1');
  });

  it('lets afterScan refuse a clean message', async () => {
    ctx.scanners = [];
    rec.afterScanReply = replies.rateMessages;
    assert.deepEqual(await submitMessage(ctx, submission(), MESSAGE), { ok: false, reply: replies.rateMessages });
    rec.afterScanReply = null;
  });

  it('queues a clean message with the scanners\' headers and reports it to onAccepted', async () => {
    rec.calls = [];
    ctx.scanners = [scanner('one', () => ({ kind: 'clean', score: 1.5, headers: [['X-Spam-Score', '1.5']] }))];
    const r = await submitMessage(ctx, submission(), MESSAGE);
    assert.equal(r.ok, true);
    const qid = r.ok ? r.queueId : '';
    assert.deepEqual(rec.calls, ['afterScan', `onAccepted ${qid} true`]);
    const body = (await store.readBody(qid))!.toString();
    assert.match(body, /^Received: from client\.example\.test \(\[192\.0\.2\.9\]\)\r\n\tby gw\.example\.test \(Outpost\) with ESMTP id /);
    assert.ok(body.includes('\r\nX-Spam-Score: 1.5\r\n'));
    assert.ok(body.endsWith(MESSAGE.toString()));
    const m = (await store.getMessage(qid))!;
    assert.equal(m.principal, 'ip:192.0.2.9');
  });
});
