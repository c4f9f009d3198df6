/**
 * SMTP smuggling and STARTTLS command injection. DATA ends only at CRLF.CRLF, and a message
 * holding a bare LF or bare CR is refused whole, so no end-of-data variant can slip a second
 * message past the gateway: for each variant exactly zero or one message is queued, and the
 * smuggled one never. Commands pipelined behind STARTTLS in the same packet are dropped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type Gateway } from '../helpers/gateway.js';
import { RawSmtp } from './raw-client.js';
import { queuedMessages } from './setup.js';

const VARIANTS: Array<[string, string]> = [
  ['\\n.\\n', '\n.\n'],
  ['\\n.\\r\\n', '\n.\r\n'],
  ['\\r.\\r', '\r.\r'],
  ['\\r\\n.\\n', '\r\n.\n'],
  ['\\r\\n.\\r', '\r\n.\r'],
  ['\\r.\\r\\n', '\r.\r\n'],
];

describe('SMTP smuggling', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway();
  });
  after(async () => {
    assert.equal(await gw.stop(), 0);
  });

  for (const [name, ending] of VARIANTS) {
    it(`queues no smuggled message behind "${name}"`, async () => {
      const before = await queuedMessages(gw);
      const c = await RawSmtp.connect(gw.submissionPort);
      await c.cmd('EHLO client.example.test');
      // Everything in one packet, as a smuggling client would send it.
      c.write(
        'MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n' +
          `From: alice@example.test\r\nSubject: first\r\n\r\nfirst body${ending}` +
          'MAIL FROM:<evil@example.test>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n' +
          'From: evil@example.test\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n.\r\n',
      );
      assert.match(await c.reply(), /^250 2\.1\.0 /);
      assert.match(await c.reply(), /^250 2\.1\.5 /);
      assert.match(await c.reply(), /^354 /);
      assert.match(await c.reply(), /^550 5\.6\.2 .*bare (LF|CR)/);
      // No further replies: nothing after the bare line end was taken as a command.
      assert.equal(await c.quietFor(300), true, `unexpected: ${JSON.stringify(c.unread)}`);
      assert.match(await c.cmd('QUIT'), /^221 /);
      c.close();

      const added = (await queuedMessages(gw)).filter((m) => !before.some((b) => b.id === m.id));
      assert.ok(added.length <= 1, `${added.length} messages queued`);
      assert.equal(added.filter((m) => m.sender === 'evil@example.test').length, 0);
      assert.equal(added.length, 0);
    });
  }

  it('still takes a clean message with a dot-stuffed line', async () => {
    const c = await RawSmtp.connect(gw.submissionPort);
    await c.cmd('EHLO client.example.test');
    await c.cmd('MAIL FROM:<alice@example.test>');
    await c.cmd('RCPT TO:<bob@example.net>');
    assert.match(await c.cmd('DATA'), /^354 /);
    c.write('Subject: dots\r\n\r\n..leading dot\r\n.\r\n');
    assert.match(await c.reply(), /^250 2\.0\.0 Ok: queued as /);
    c.close();
  });
});

describe('STARTTLS command injection', () => {
  let gw: Gateway;
  before(async () => {
    gw = await startGateway();
  });
  after(async () => {
    await gw.stop();
  });

  it('drops commands sent in the same packet as STARTTLS', async () => {
    const c = await RawSmtp.connect(gw.submissionPort);
    await c.cmd('EHLO client.example.test');
    c.write('STARTTLS\r\nNOOP\r\nMAIL FROM:<alice@example.test>\r\n');
    assert.match(await c.reply(), /^220 /);
    await c.startTls();
    // Neither the NOOP nor the MAIL FROM got an answer, in plain text or inside TLS.
    assert.equal(await c.quietFor(300), true, `unexpected: ${JSON.stringify(c.unread)}`);
    assert.match(await c.cmd('EHLO client.example.test'), /^250[ -]/);
    // The plaintext MAIL FROM did not start a transaction.
    assert.match(await c.cmd('RCPT TO:<bob@example.net>'), /^503 5\.5\.1 /);
    c.close();
  });
});
