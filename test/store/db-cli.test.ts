/** `outpost db migrate`, run as an operator would: the real CLI against a fresh database. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { PG_MIGRATIONS } from '../../src/store/pg-migrations.js';
import { runCli } from '../helpers/gateway.js';
import { freshDatabase } from '../helpers/pg.js';
import { freePort } from '../helpers/ports.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'outpost-db-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, toml: string): string {
  const file = path.join(dir, `${name}.toml`);
  writeFileSync(file, `data_dir = "${path.join(dir, 'data')}"\n${toml}\n`);
  return file;
}

describe('outpost db migrate', () => {
  test('migrates an empty database, then reports it up to date', async () => {
    const db = await freshDatabase();
    try {
      const file = config('pg', `[store]\npostgres = "${db.url}"`);
      const first = await runCli(['db', 'migrate', '--config', file]);
      assert.equal(first.stderr, '');
      assert.equal(first.stdout, `database schema migrated from version 0 to ${PG_MIGRATIONS.length}\n`);
      assert.equal(first.code, 0);
      const again = await runCli(['db', 'migrate', '--config', file]);
      assert.equal(again.stdout, `database schema at version ${PG_MIGRATIONS.length}: up to date\n`);
      assert.equal(again.code, 0);
    } finally {
      await db.drop();
    }
  });

  test('with the embedded store there is nothing to do', async () => {
    const r = await runCli(['db', 'migrate', '--config', config('sqlite', '')]);
    assert.equal(r.stdout, `the embedded SQLite store (${path.join(dir, 'data')}) migrates itself when opened; nothing to do\n`);
    assert.equal(r.code, 0);
  });

  test('an unreachable server and a missing database are reported plainly', async () => {
    const port = await freePort();
    const down = await runCli(['db', 'migrate', '--config', config('down', `[store]\npostgres = "postgres://postgres@127.0.0.1:${port}/outpost"`)]);
    assert.equal(down.stdout, '');
    assert.equal(down.stderr, `outpost: cannot reach the database (connect ECONNREFUSED 127.0.0.1:${port}); check store.postgres in the config\n`);
    assert.equal(down.code, 1);

    const missing = await runCli(['db', 'migrate', '--config',
      config('missing', '[store]\npostgres = "postgres://postgres:pw-secret@127.0.0.1:5432/outpost_test_missing"')]);
    assert.equal(missing.stderr, 'outpost: cannot open the PostgreSQL store at postgres://postgres:***@127.0.0.1:5432/outpost_test_missing: ' +
      'database "outpost_test_missing" does not exist; create the database (createdb) or fix store.postgres in the config\n');
    assert.equal(missing.code, 1);
  });
});
