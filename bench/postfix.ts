/**
 * The reference MTA: a private Postfix instance (scripts/peers/start-postfix-relay.sh) with its
 * own config and queue under a bench-only run folder, so it never meets another user's relay.
 * Its smtpd queues each message (fsync before the 250, like Outpost) and relays everything
 * to the bench's sink. Stopped when the bench ends, however it ends.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { treeCpuMs } from './cpu.js';
import { onExit, portIsFree, REPO_ROOT, run, sleep, waitForSmtp } from './procs.js';

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'peers', 'start-postfix-relay.sh');

export interface Postfix {
  submission: string;
  /** CPU time of the master and all its workers (also those that have exited), ms. */
  cpuMs(): number;
  /** Waits until Postfix's queue is empty (bounded); false when it is not. */
  waitEmpty(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startPostfix(sinkPort: number, runDir: string): Promise<Postfix> {
  let port = Number(process.env.BENCH_POSTFIX_PORT ?? 2525);
  // 2525 is the relay's usual port; a relay someone else runs there is left alone.
  while (!(await portIsFree('127.0.0.1', port))) port++;
  const env = { ...process.env, OUTPOST_PEERS_RUN: runDir, RELAY_PORT: String(port), RELAYHOST: `[127.0.0.1]:${sinkPort}` };
  const conf = path.join(runDir, 'postfix', 'etc');
  const stopSync = (): void => {
    try {
      execFileSync('sh', [SCRIPT, 'stop'], { env, stdio: 'ignore', timeout: 30_000 });
    } catch {
      // best effort
    }
  };
  // An instance left by an interrupted run has another sink port in its config: restart.
  stopSync();
  const started = await run('sh', [SCRIPT, 'start'], { env, timeoutMs: 60_000 });
  if (started.code !== 0) throw new Error(`Postfix relay did not start: ${started.out}`);
  onExit(stopSync);
  await run('postsuper', ['-c', conf, '-d', 'ALL'], { timeoutMs: 30_000 });
  await waitForSmtp('127.0.0.1', port, 15_000);

  const empty = async (): Promise<boolean> =>
    /queue is empty/i.test((await run('postqueue', ['-c', conf, '-p'], { timeoutMs: 10_000 })).out);
  return {
    submission: `127.0.0.1:${port}`,
    cpuMs() {
      const pid = Number(readFileSync(path.join(runDir, 'postfix', 'queue', 'pid', 'master.pid'), 'utf8').trim());
      return treeCpuMs(pid);
    },
    async waitEmpty(timeoutMs) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        if (await empty()) return true;
        await sleep(250);
      }
      return false;
    },
    async stop() {
      await run('sh', [SCRIPT, 'stop'], { env, timeoutMs: 30_000 });
    },
  };
}
