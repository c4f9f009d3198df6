/**
 * `outpost serve`: runs the gateway until SIGTERM or SIGINT (see serve-run.ts, where the
 * services are started and stopped). The gateway's modules are loaded only for this
 * command, so the other commands start fast.
 */
import type { Command } from 'commander';
import type { GlobalOptions } from './common.js';

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.removeListener('SIGTERM', on);
      process.removeListener('SIGINT', on);
      // A second signal during the shutdown means "now".
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      resolve(sig);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the gateway: SMTP submission (STARTTLS and implicit TLS), queue, delivery, webmail')
    .action(async () => {
      // Listen for signals first: one that arrives while services start must still lead to
      // a clean stop, not to the default "die at once".
      const signalled = waitForSignal();
      const { runServe } = await import('./serve-run.js');
      await runServe(program.opts<GlobalOptions>(), signalled);
    });
}
