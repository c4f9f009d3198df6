/**
 * `outpost db migrate`: brings the PostgreSQL store's schema to this program's version. Nodes
 * also migrate an empty or older database when they start; running this first lets an
 * operator upgrade the schema once, before rolling the new version out to every node.
 */
import type { Command } from 'commander';
import { SchemaTooNewError } from '../store/pg-migrations.js';
import { CliError, loadFromOptions, type GlobalOptions } from './common.js';

export function registerDb(program: Command): void {
  const cmd = program.command('db').description('manage the database schema of the store');
  cmd.command('migrate')
    .description('apply pending schema migrations to the PostgreSQL store (store.postgres); safe to repeat')
    .action(async () => {
      const cfg = loadFromOptions(program.opts<GlobalOptions>());
      if (!cfg.store.postgres) {
        console.log(`the embedded SQLite store (${cfg.data_dir}) migrates itself when opened; nothing to do`);
        return;
      }
      const { migratePostgres } = await import('../store/postgres.js');
      try {
        const r = await migratePostgres(cfg.store.postgres);
        console.log(r.from === r.to
          ? `database schema at version ${r.to}: up to date`
          : `database schema migrated from version ${r.from} to ${r.to}`);
      } catch (err) {
        // Connection refused is reported by the CLI's common handler; server-side refusals
        // (no such database, bad password) and a too-new schema are messages for the operator.
        const e = err as Error & { code?: string };
        if (err instanceof SchemaTooNewError) throw new CliError(e.message, 1);
        if (e instanceof Error && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) throw new CliError(e.message, 1);
        throw err;
      }
    });
}
