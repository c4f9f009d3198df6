/**
 * The style sheet and the two small page scripts, read once at start from src/web/assets/
 * and served by the gateway itself: the pages load nothing from anywhere else.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  type: string;
  body: string;
}

const FILES: Record<string, string> = {
  'webmail.css': 'text/css; charset=utf-8',
  'compose.js': 'text/javascript; charset=utf-8',
  'sent.js': 'text/javascript; charset=utf-8',
};

/** The compiled module runs from dist/src/web/; the files stay in the source tree. */
function assetDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'assets'), path.resolve(here, '../../../src/web/assets')];
  const dir = candidates.find((d) => existsSync(path.join(d, 'webmail.css')));
  if (!dir) throw new Error(`webmail assets not found (looked in ${candidates.join(', ')})`);
  return dir;
}

export function loadAssets(): Map<string, Asset> {
  const dir = assetDir();
  const out = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) {
    out.set(name, { type, body: readFileSync(path.join(dir, name), 'utf8') });
  }
  return out;
}
