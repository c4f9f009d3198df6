/**
 * What the submission tests share: a gateway with mailbox accounts, and a look into its
 * queue. The queue is read through the store (the SQLite file in the gateway's data dir),
 * which is safe beside the running gateway (WAL).
 */
import { SqliteStore } from '../../src/store/sqlite.js';
import type { MessageRow } from '../../src/store/store.js';
import { startGateway, type Gateway, type GatewayOptions } from '../helpers/gateway.js';

export const PASSWORD = 'correct horse battery staple';

/** trusted_networks without loopback: every test client is an outsider that must log in. */
export const UNTRUSTED = `
[relay]
trusted_networks = ["10.0.0.0/8"]
`;

/** Starts a gateway and adds the given mailboxes, all with PASSWORD. */
export async function gatewayWithUsers(users: string[], opts: GatewayOptions = {}): Promise<Gateway> {
  const gw = await startGateway(opts);
  for (const u of users) {
    const r = await gw.cli(['user', 'add', u, '--password-stdin'], `${PASSWORD}\n`);
    if (r.code !== 0) throw new Error(`user add ${u} failed: ${r.stderr}`);
  }
  return gw;
}

/** Messages the clients handed over (the gateway's own notices left out), newest first. */
export async function queuedMessages(gw: Gateway): Promise<MessageRow[]> {
  const store = new SqliteStore(gw.dataDir);
  try {
    return (await store.listMessages()).filter((m) => m.kind === 'message');
  } finally {
    await store.close();
  }
}

export async function queuedBody(gw: Gateway, id: string): Promise<Buffer | null> {
  const store = new SqliteStore(gw.dataDir);
  try {
    return await store.readBody(id);
  } finally {
    await store.close();
  }
}

/** A small, well-formed message with CRLF line ends. */
export function message(subject = 'test', extraHeaders = ''): string {
  return [
    'From: Alice <alice@example.net>',
    'To: Bob <bob@example.net>',
    `Subject: ${subject}`,
    'Date: Thu, 03 Dec 2026 10:00:00 +0000',
    `Message-ID: <${subject.replace(/\W/g, '')}.${Date.now()}@client.example.net>`,
    ...(extraHeaders ? [extraHeaders] : []),
    '',
    'Hello Bob,',
    'just a test.',
    '',
  ].join('\r\n');
}
