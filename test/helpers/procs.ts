/**
 * Bookkeeping for what the helpers start: every child process and temp dir is registered here
 * and killed / removed when the test process ends, even when a test forgot its stop().
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** The repository root, found from this file's place in dist/test/helpers/. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where tests may leave files worth keeping after a run (screenshots, dumps); gitignored. */
export const ARTIFACTS_DIR = process.env.OUTPOST_TEST_ARTIFACTS ?? path.join(REPO_ROOT, 'test-artifacts');

export function trackChild(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Removed when the test process exits, unless OUTPOST_KEEP_TEST_DIRS is set. */
export function trackTempDir(dir: string): string {
  tempDirs.add(dir);
  return dir;
}

/** Child env without the test runner's own variables (a child `node` must not act as a test). */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** Resolves with the exit code (or null when killed by a signal) once `child` has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. Idempotent. */
export async function terminate(child: ChildProcess, graceMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}

function cleanup(): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  if (!process.env.OUTPOST_KEEP_TEST_DIRS) {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  }
  tempDirs.clear();
}

process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}
