/**
 * Reads the one TOML config file (or none: embedded defaults) and validates it. Every error
 * names the file, the key and the reason, and stops the start.
 */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { parse as parseToml } from 'smol-toml';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {}

export interface LoadedConfig extends Omit<Config, 'hostname' | 'node_id'> {
  hostname: string;
  /** The file it came from, or null for embedded defaults. */
  source: string | null;
  node_id: string;
}

export function configPath(cliPath?: string): string | null {
  return cliPath ?? process.env.OUTPOST_CONFIG ?? null;
}

export function loadConfig(path: string | null): LoadedConfig {
  let raw: unknown = {};
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(`${path}: cannot read the config file (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    try {
      raw = parseToml(text);
    } catch (err) {
      const msg = (err as Error).message.split('\n')[0];
      throw new ConfigError(`${path}: not valid TOML: ${msg}`);
    }
  }
  return validateConfig(raw, path);
}

export function validateConfig(raw: unknown, path: string | null): LoadedConfig {
  const result = configSchema.safeParse(raw);
  const where = path ?? '(embedded defaults)';
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(top level)';
      let reason = issue.message;
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => (key === '(top level)' ? k : `${key}.${k}`));
        return `${where}: unknown key ${keys.join(', ')}`;
      }
      if (issue.code === 'invalid_type') reason = `expected ${issue.expected}`;
      return `${where}: key ${key}: ${reason}`;
    });
    throw new ConfigError(lines.join('\n'));
  }
  const cfg = result.data;
  return {
    ...cfg,
    hostname: cfg.hostname ?? osHostname(),
    source: path,
    node_id: cfg.node_id ?? `${osHostname()}-${process.pid}`,
  };
}
