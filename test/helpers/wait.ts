/** Polling until a condition holds, for things a test cannot await directly (files, logs). */

export interface WaitOptions {
  /** Give up after this many ms (default 10000). */
  timeout?: number;
  /** Poll every this many ms (default 50). */
  interval?: number;
  /** What is awaited, for the error message. */
  what?: string;
}

/** Resolves once `fn` returns true; rejects with `what` when `timeout` passes first. */
export async function waitFor(
  fn: () => boolean | Promise<boolean>,
  { timeout = 10_000, interval = 50, what = 'condition' }: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    try {
      if (await fn()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError ? ` (last error: ${(lastError as Error).message ?? lastError})` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${why}`);
    }
    await sleep(interval);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
