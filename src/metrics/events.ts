/**
 * The doors through which the gateway's modules report what metrics count, without loading
 * the metrics library themselves: the log module calls these from its event functions
 * (accepted, refused, attempt, connect, disconnect), the queue runner times attempts and
 * reports its open delivery connections, and the scanners are timed by a thin wrapper.
 *
 * Until the metrics module (metrics.ts, loaded by the web server in `outpost serve`) installs
 * its sink, every call here does nothing, so the CLI's commands never pay for prom-client.
 */
import type { Scanner } from '../scan/scanner.js';

export interface MetricSink {
  accepted(source: 'smtp' | 'webmail'): void;
  refused(stage: string, enhanced: string | null): void;
  /** One delivery attempt: its overall result and each recipient's. */
  attempt(result: string, recipientResults: string[]): void;
  attemptSeconds(seconds: number): void;
  scanSeconds(scanner: string, seconds: number): void;
  sessionOpened(sid: string): void;
  sessionClosed(sid: string): void;
}

let sink: MetricSink | null = null;

export function installMetricSink(s: MetricSink): void {
  sink = s;
}

type Fields = Record<string, unknown>;

/** Called by maillog's event functions with the fields they log. */
export const metricEvents = {
  accepted(f: Fields): void {
    // Webmail submits through intake with HTTP(S) as its protocol; SMTP with (E)SMTP(S)(A).
    sink?.accepted(/^HTTP/i.test(String(f.protocol ?? '')) ? 'webmail' : 'smtp');
  },
  refused(stage: string, enhanced: string | null | undefined): void {
    sink?.refused(stage, enhanced ?? null);
  },
  attempt(f: Fields): void {
    if (!sink) return;
    const result = String(f.result ?? 'unknown');
    // A mixed attempt lists each recipient's result; otherwise all share the attempt's.
    const per = Array.isArray(f.results)
      ? (f.results as Array<{ result?: unknown }>).map((r) => String(r.result ?? 'unknown'))
      : Array.isArray(f.recipients)
        ? f.recipients.map(() => result)
        : [];
    sink.attempt(result, per);
  },
  sessionOpened(sid: string): void {
    sink?.sessionOpened(sid);
  },
  sessionClosed(sid: string): void {
    sink?.sessionClosed(sid);
  },
};

const outgoing = new Set<() => number>();

/**
 * Registers a source of open outgoing (delivery) connections, read at each scrape; returns
 * the function that unregisters it (a stopped queue runner).
 */
export function reportOutgoingConnections(count: () => number): () => void {
  outgoing.add(count);
  return () => outgoing.delete(count);
}

export function outgoingConnections(): number {
  let n = 0;
  for (const count of outgoing) n += count();
  return n;
}

/** Times each call of a delivery attempt function, whatever its outcome. */
export function timedAttempts<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args: A) => {
    const start = process.hrtime.bigint();
    try {
      return await fn(...args);
    } finally {
      sink?.attemptSeconds(Number(process.hrtime.bigint() - start) / 1e9);
    }
  };
}

/** The scanner with each scan timed (label: the scanner's name). */
export function timedScanner(scanner: Scanner): Scanner {
  return {
    name: scanner.name,
    async scan(message, envelope) {
      const start = process.hrtime.bigint();
      try {
        return await scanner.scan(message, envelope);
      } finally {
        sink?.scanSeconds(scanner.name, Number(process.hrtime.bigint() - start) / 1e9);
      }
    },
  };
}
