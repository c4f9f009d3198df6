/** What every subcommand shares: loading the config, opening the store, reporting errors. */
import { configPath, ConfigError, loadConfig, type LoadedConfig } from '../config/load.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';

/** An error the user can act on: printed as one line, no stack trace. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

export interface GlobalOptions {
  config?: string;
}

export function loadFromOptions(opts: GlobalOptions): LoadedConfig {
  return loadConfig(configPath(opts.config));
}

/** Runs `fn` with the config and an open store, closing the store afterwards. */
export async function withStore<T>(opts: GlobalOptions, fn: (store: Store, cfg: LoadedConfig) => Promise<T>): Promise<T> {
  const cfg = loadFromOptions(opts);
  const store = await openStore(cfg);
  try {
    return await fn(store, cfg);
  } finally {
    await store.close();
  }
}

/** Reads all of standard input (for --password-stdin), without the final line end. */
export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new CliError('expected the password on standard input, e.g. `echo "$PW" | outpost ...`');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** The password of `--password-stdin`: refuses a missing flag and an empty password. */
export async function passwordFromStdin(stdin: boolean | undefined): Promise<string> {
  if (!stdin) throw new CliError('give the password on standard input with --password-stdin');
  const pw = await readStdin();
  if (pw === '') throw new CliError('the password is empty; give a password on standard input');
  return pw;
}

export function reportAndExit(err: unknown): never {
  if (err instanceof ConfigError) {
    console.error(`outpost: config error:\n${err.message}`);
    process.exit(2);
  }
  if (err instanceof CliError) {
    console.error(`outpost: ${err.message}`);
    process.exit(err.exitCode);
  }
  const e = err as NodeJS.ErrnoException;
  if (e && e.code === 'ECONNREFUSED') {
    console.error(`outpost: cannot reach the database (${e.message}); check store.postgres in the config`);
    process.exit(1);
  }
  console.error(`outpost: unexpected error: ${e?.message ?? String(err)}`);
  if (process.env.OUTPOST_DEBUG) console.error(e?.stack);
  process.exit(1);
}
