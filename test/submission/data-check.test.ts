/**
 * The streaming byte checks of DATA, fed in chunks cut at awkward places: a CR at the end of
 * one chunk and its LF at the start of the next, long lines spread over chunks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageCollector } from '../../src/submission/data-check.js';

function feed(parts: Array<string | Buffer>, max = 1_000_000): MessageCollector {
  const c = new MessageCollector(max);
  for (const p of parts) c.feed(Buffer.isBuffer(p) ? p : Buffer.from(p, 'latin1'));
  return c;
}

describe('DATA byte checks', () => {
  it('accepts CRLF split across chunks and returns the bytes unchanged', () => {
    const c = feed(['Subject: x\r', '\n\r', '\nbody\r', '\n']);
    assert.equal(c.violation, null);
    assert.equal(c.take().toString('latin1'), 'Subject: x\r\n\r\nbody\r\n');
  });

  it('finds a bare LF at the start of a chunk and a bare CR at the end of one', () => {
    assert.equal(feed(['a\r\nb', '\nc\r\n']).violation?.enhanced, '5.6.2');
    assert.equal(feed(['a\r', 'b\r\n']).violation?.text.includes('bare CR'), true);
    assert.equal(feed(['\n']).violation?.text.includes('bare LF'), true);
    assert.equal(feed(['a\r\r\n']).violation?.text.includes('bare CR'), true);
  });

  it('allows 998 octets per line and refuses 999, also across chunks', () => {
    assert.equal(feed(['x'.repeat(998) + '\r\n']).violation, null);
    assert.equal(feed(['x'.repeat(500), 'x'.repeat(498) + '\r', '\n']).violation, null);
    assert.equal(feed(['x'.repeat(500), 'x'.repeat(499), '\r\n']).violation?.code, 550);
    assert.equal(feed(['x'.repeat(999) + '\r\n']).violation?.enhanced, '5.6.0');
  });

  it('refuses over the size limit, drops what it held and keeps counting', () => {
    const c = feed(['x'.repeat(60) + '\r\n', 'y'.repeat(60) + '\r\n'], 100);
    assert.equal(c.violation?.code, 552);
    assert.equal(c.violation?.enhanced, '5.3.4');
    assert.equal(c.bytes, 124);
    assert.equal(c.take().length, 0);
  });
});
