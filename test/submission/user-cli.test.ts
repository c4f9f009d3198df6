/** `outpost user ...`: accounts, passwords from standard input, sender grants, clear errors. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { runCli } from '../helpers/gateway.js';
import { trackTempDir } from '../helpers/procs.js';

describe('outpost user', () => {
  let config: string;
  const cli = (args: string[], input?: string) => runCli([...args, '--config', config], input);

  before(() => {
    const dir = trackTempDir(mkdtempSync(path.join(os.tmpdir(), 'outpost-user-')));
    config = path.join(dir, 'outpost.toml');
    writeFileSync(config, `data_dir = "${path.join(dir, 'data')}"\n`);
  });

  it('adds a mailbox lower-cased, and refuses a second one with the same address', async () => {
    const r = await cli(['user', 'add', 'Dora@Example.NET', '--password-stdin'], 'pw-one\n');
    assert.equal(r.code, 0, r.stderr);
    const dup = await cli(['user', 'add', 'dora@example.net', '--password-stdin'], 'pw-two\n');
    assert.equal(dup.code, 2);
    assert.match(dup.stderr, /dora@example\.net exists already/);
  });

  it('refuses an empty password, a missing --password-stdin and a malformed address', async () => {
    const empty = await cli(['user', 'add', 'eve@example.net', '--password-stdin'], '\n');
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /password is empty/);
    const noFlag = await cli(['user', 'add', 'eve@example.net']);
    assert.equal(noFlag.code, 2);
    assert.match(noFlag.stderr, /--password-stdin/);
    const bad = await cli(['user', 'add', 'not-an-address', '--password-stdin'], 'pw\n');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a mailbox address/);
  });

  it('grants and revokes addresses and domains, listed in --json', async () => {
    assert.equal((await cli(['user', 'grant', 'dora@example.net', '@Customer.Example.Test'])).code, 0);
    assert.equal((await cli(['user', 'grant', 'dora@example.net', 'info@example.net'])).code, 0);
    const bad = await cli(['user', 'grant', 'dora@example.net', 'nonsense']);
    assert.equal(bad.code, 2);
    const list = await cli(['user', 'list', '--json']);
    assert.equal(list.code, 0);
    const accounts = JSON.parse(list.stdout) as Array<{ address: string; grants: string[] }>;
    assert.deepEqual(accounts.map((a) => a.address), ['dora@example.net']);
    assert.deepEqual([...accounts[0]!.grants].sort(), ['@customer.example.test', 'info@example.net']);
    const text = JSON.stringify(accounts);
    assert.ok(!text.includes('argon2') && !text.includes('pw-one'), 'no hashes or passwords in the listing');

    assert.equal((await cli(['user', 'revoke', 'dora@example.net', 'info@example.net'])).code, 0);
    const again = await cli(['user', 'revoke', 'dora@example.net', 'info@example.net']);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /has no grant/);
  });

  it('changes a password and deletes an account; unknown users are named', async () => {
    assert.equal((await cli(['user', 'passwd', 'dora@example.net', '--password-stdin'], 'pw-new\n')).code, 0);
    const missing = await cli(['user', 'passwd', 'nobody@example.net', '--password-stdin'], 'x\n');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such user: nobody@example\.net/);
    assert.equal((await cli(['user', 'delete', 'DORA@example.net'])).code, 0);
    const gone = await cli(['user', 'delete', 'dora@example.net']);
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /no such user/);
    const list = await cli(['user', 'list']);
    assert.match(list.stdout, /no accounts/);
  });
});
