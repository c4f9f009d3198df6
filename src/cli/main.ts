/**
 * `outpost <command>`: one file per subcommand group. Every command takes --config FILE (or
 * OUTPOST_CONFIG); without either it uses the embedded defaults.
 */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { reportAndExit } from './common.js';
import { registerServe } from './serve.js';
import { registerUser } from './user.js';
import { registerQueue } from './queue.js';
import { registerBlock } from './block.js';
import { registerDb } from './db.js';
import { registerConfig } from './config.js';
import { registerAdmin } from './admin.js';

const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };
const program = new Command();
program
  .name('outpost')
  .description('Outgoing mail gateway: submission, policy, scanning, queue and delivery')
  .version(version, '-V, --version', 'print the version')
  .option('-c, --config <file>', 'TOML config file (default: $OUTPOST_CONFIG, else embedded defaults)')
  .showHelpAfterError('(run `outpost --help` for the list of commands)');

registerServe(program);
registerUser(program);
registerQueue(program);
registerBlock(program);
registerDb(program);
registerConfig(program);
registerAdmin(program);

program.parseAsync(process.argv).catch(reportAndExit);
