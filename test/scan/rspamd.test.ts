/**
 * The rspamd scanner against the real rspamd (127.0.0.1:11333, offline, packaged rules):
 * GTUBE (rspamd's own "reject"), the spam sample by score, the ham sample, the X-Spam-Score
 * header, and an rspamd that cannot be reached.
 *
 * Scores seen with the packaged rules: ham.eml about 1, spam.eml about 13.5 (under rspamd's
 * reject threshold of 15, so the sample is refused only where reject_score is lower), GTUBE 15.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkUrl, RspamdScanner, type RspamdOptions } from '../../src/scan/rspamd.js';
import type { ScanVerdict } from '../../src/scan/scanner.js';
import { freePort } from '../helpers/ports.js';
import { ENVELOPE, fixture, GTUBE, plain } from './messages.js';

const URL = 'http://127.0.0.1:11333';
const make = (o: Partial<RspamdOptions> = {}) =>
  new RspamdScanner({ url: URL, rejectScore: 15, addHeader: false, timeoutMs: 20_000, failOpen: false, ...o });
const SPAM_ENVELOPE = { ...ENVELOPE, sender: 'winner@example.test', recipients: ['bob@d1.example.test', 'carol@d2.example.test'] };

function assertSpam(v: ScanVerdict): void {
  assert.equal(v.kind, 'reject', JSON.stringify(v));
  if (v.kind !== 'reject') return;
  assert.equal(v.reason, 'spam');
  assert.equal(v.reply.code, 550);
  assert.equal(v.reply.enhanced, '5.7.1');
  assert.match(v.reply.text, /^Message refused as spam \(score \d+\.\d\d, limit \d+(\.\d+)?\)$/);
  assert.equal(typeof v.score, 'number');
}

describe('rspamd', () => {
  test('GTUBE: rspamd says reject, 550 5.7.1', async () => {
    const v = await make({ rejectScore: 1000 }).scan(plain(GTUBE), ENVELOPE);
    assertSpam(v);
    assert.match((v as { detail: string }).detail, /action reject; .*GTUBE/);
  });

  test('the spam sample at reject_score 10: refused by score', async () => {
    const v = await make({ rejectScore: 10 }).scan(fixture('spam.eml'), SPAM_ENVELOPE);
    assertSpam(v);
    assert.ok((v as { score: number }).score >= 10);
  });

  test('the spam sample at the default reject_score 15 passes, with its score', async () => {
    const v = await make().scan(fixture('spam.eml'), SPAM_ENVELOPE);
    assert.equal(v.kind, 'clean');
    if (v.kind !== 'clean') return;
    assert.ok(v.score! >= 10 && v.score! < 15, `score ${v.score}`);
    assert.equal(v.headers, undefined, 'no header without add_header');
  });

  test('the ham sample passes with a low score; add_header adds X-Spam-Score', async () => {
    const v = await make({ addHeader: true }).scan(fixture('ham.eml'), ENVELOPE);
    assert.equal(v.kind, 'clean');
    if (v.kind !== 'clean') return;
    assert.ok(v.score! < 5, `score ${v.score}`);
    assert.deepEqual(v.headers, [['X-Spam-Score', v.score!.toFixed(2)]]);
  });

  test('a logged-in sender and several recipients are passed as headers', async () => {
    const v = await make().scan(fixture('ham.eml'), { ...SPAM_ENVELOPE, authUser: 'ann@example.net' });
    assert.equal(v.kind, 'clean');
  });
});

describe('rspamd not answering', () => {
  test('nothing listens: 451 4.7.1', async () => {
    const port = await freePort();
    const v = await make({ url: `http://127.0.0.1:${port}` }).scan(plain('hello'), ENVELOPE);
    assert.equal(v.kind, 'unavailable');
    if (v.kind !== 'unavailable') return;
    assert.equal(v.reply.code, 451);
    assert.equal(v.reply.enhanced, '4.7.1');
    assert.match(v.reply.text, /rspamd unavailable/);
  });

  test('with fail_open the message passes unscanned', async () => {
    const port = await freePort();
    const v = await make({ url: `http://127.0.0.1:${port}`, failOpen: true }).scan(plain(GTUBE), ENVELOPE);
    assert.deepEqual(v, { kind: 'clean' });
  });

  test('the scan path is added to a base URL only', () => {
    assert.equal(checkUrl('http://127.0.0.1:11333').href, 'http://127.0.0.1:11333/checkv2');
    assert.equal(checkUrl('http://127.0.0.1:11333/').href, 'http://127.0.0.1:11333/checkv2');
    assert.equal(checkUrl('http://10.0.0.1:11333/rspamd/checkv2').pathname, '/rspamd/checkv2');
  });
});
