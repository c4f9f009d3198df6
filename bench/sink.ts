/**
 * Postfix's smtp-sink as the next hop of every end-to-end case: it accepts and drops each
 * message, and with -c prints running counters ("sess=N quit=N mesg=N", separated by CR),
 * which tell how many messages arrived. (Not -M N: the sink would exit right after the N-th
 * message, before the sender read the reply, and the sender would retry that message.)
 */
import type { ChildProcess } from 'node:child_process';
import { sleep, startChild, terminate, waitForSmtp } from './procs.js';

export interface Sink {
  port: number;
  /** Messages received since the sink started. */
  count(): number;
  /** Resolves with the time (epoch ms) the count reached `n`, or null after `timeoutMs`. */
  waitFor(n: number, timeoutMs: number): Promise<number | null>;
  stop(): Promise<void>;
}

export async function startSink(port: number): Promise<Sink> {
  const args = ['-c', ...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []), `127.0.0.1:${port}`, '1024'];
  const child: ChildProcess = startChild('smtp-sink', args);
  let mesg = 0;
  let tail = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('latin1').on('data', (d: string) => {
    tail = (tail + d).slice(-200);
    const all = tail.match(/mesg=(\d+)/g);
    if (all) {
      const last = Number(all[all.length - 1]!.slice(5));
      if (last > mesg) {
        mesg = last;
        for (const w of waiters) w();
      }
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  try {
    await waitForSmtp('127.0.0.1', port, 5000, () => child.exitCode === null);
  } catch (err) {
    await terminate(child, 1000);
    throw new Error(`smtp-sink on 127.0.0.1:${port} did not start: ${(err as Error).message} ${stderr}`);
  }
  // waitForSmtp's probe is a session without a message; it does not change mesg.
  return {
    port,
    count: () => mesg,
    waitFor(n, timeoutMs) {
      if (mesg >= n) return Promise.resolve(Date.now());
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          resolve(null);
        }, timeoutMs);
        function check(): void {
          if (mesg < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(Date.now());
        }
        waiters.add(check);
      });
    },
    async stop() {
      await terminate(child, 2000);
      await sleep(0);
    },
  };
}
