/** `outpost config check|show`: validate the file, print the effective values. */
import type { Command } from 'commander';
import { loadFromOptions, type GlobalOptions } from './common.js';

export function registerConfig(program: Command): void {
  const cmd = program.command('config').description('check the config file or print the effective values');
  cmd.command('check').description('validate the config file and exit').action(async () => {
    const cfg = loadFromOptions(program.opts<GlobalOptions>());
    // The files it names must be usable too, as `serve` will need them.
    if (cfg.tls.cert) {
      const { loadTlsMaterial } = await import('../submission/tls.js');
      await loadTlsMaterial(cfg);
    }
    console.log(`${cfg.source ?? '(embedded defaults)'}: ok`);
  });
  cmd.command('show').description('print the effective config as JSON').action(() => {
    const cfg = loadFromOptions(program.opts<GlobalOptions>());
    console.log(JSON.stringify(cfg, null, 2));
  });
}
