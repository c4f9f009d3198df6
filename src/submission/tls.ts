/**
 * The certificate and key the SMTP listeners present. Operators set tls.cert and tls.key;
 * without them a self-signed pair for the host name is made once with the openssl command
 * and kept in data_dir/tls/, so the fingerprint a client pinned stays the same across
 * restarts. Clients that verify certificates need a real one.
 */
import { createSecureContext } from 'node:tls';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, type LoadedConfig } from '../config/load.js';

const run = promisify(execFile);

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** Where it came from, for the start log. */
  source: string;
}

function readConfigured(cfg: LoadedConfig, key: 'cert' | 'key'): Buffer {
  const path = cfg.tls[key]!;
  try {
    return readFileSync(path);
  } catch (err) {
    const where = cfg.source ?? '(embedded defaults)';
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(`${where}: key tls.${key}: cannot read ${path} (${code})`);
  }
}

export async function loadTlsMaterial(cfg: LoadedConfig): Promise<TlsMaterial> {
  if (cfg.tls.cert && cfg.tls.key) {
    const material = { cert: readConfigured(cfg, 'cert'), key: readConfigured(cfg, 'key'), source: cfg.tls.cert };
    try {
      createSecureContext({ cert: material.cert, key: material.key });
    } catch (err) {
      const where = cfg.source ?? '(embedded defaults)';
      const why = (err as Error).message.replace(/^error:[0-9A-F]+:/, '');
      throw new ConfigError(`${where}: keys tls.cert and tls.key: not a usable PEM certificate and key (${why})`);
    }
    return material;
  }
  const dir = join(cfg.data_dir, 'tls');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  if (!existsSync(certPath) || !existsSync(keyPath)) await makeSelfSigned(dir, cfg.hostname);
  return { cert: readFileSync(certPath), key: readFileSync(keyPath), source: `${certPath} (self-signed)` };
}

async function makeSelfSigned(dir: string, hostname: string): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const name = hostname.replace(/[^A-Za-z0-9.-]/g, '') || 'localhost';
  const tmpKey = join(dir, `key.pem.${process.pid}.tmp`);
  const tmpCert = join(dir, `cert.pem.${process.pid}.tmp`);
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', tmpKey, '-out', tmpCert, '-days', '3650',
      '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`,
    ], { timeout: 30_000 });
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    throw new Error(`cannot make a self-signed TLS certificate with openssl (${why}); ` +
      'install openssl or set tls.cert and tls.key');
  }
  // The key first: a cert.pem without its key.pem would be made again on the next start.
  chmodSync(tmpKey, 0o600);
  renameSync(tmpKey, join(dir, 'key.pem'));
  renameSync(tmpCert, join(dir, 'cert.pem'));
}
