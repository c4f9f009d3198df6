/**
 * The gateway's Prometheus metrics (prom-client), in two registries of its own:
 *
 * - per node: what this process saw (messages accepted and refused, deliveries, attempt and
 *   scanner latency, open connections, Node's process metrics), each series with a `node`
 *   label set at scrape time from the node id;
 * - shared: the queue as the store holds it (recipients by state, messages, the oldest
 *   queued message's age, blocks). With PostgreSQL every node reports the same shared queue,
 *   so these carry no node label: take max() over nodes, not sum().
 *
 * Loading this module installs the sink behind metrics/events.ts; before that, the events
 * count nothing (the CLI never loads prom-client).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { installMetricSink, outgoingConnections } from './events.js';

export const nodeRegistry = new Registry();
export const queueRegistry = new Registry();

const accepted = new Counter({
  name: 'outpost_messages_accepted_total',
  help: 'Messages accepted into the queue, by how they came (smtp, webmail).',
  labelNames: ['source'] as const,
  registers: [nodeRegistry],
});

const refused = new Counter({
  name: 'outpost_refusals_total',
  help:
    'Refusals sent to clients, by stage (protocol, command, auth, mail, rcpt, data), ' +
    'RFC 3463 class (4 temporary, 5 permanent) and enhanced status code.',
  labelNames: ['stage', 'class', 'enhanced'] as const,
  registers: [nodeRegistry],
});

const deliveries = new Counter({
  name: 'outpost_deliveries_total',
  help: 'Recipients tried by delivery attempts, by result (delivered, deferred, bounced).',
  labelNames: ['result'] as const,
  registers: [nodeRegistry],
});

const attempts = new Counter({
  name: 'outpost_delivery_attempts_total',
  help: 'Delivery attempts (one message to one domain), by result; mixed: recipients differed.',
  labelNames: ['result'] as const,
  registers: [nodeRegistry],
});

const attemptSeconds = new Histogram({
  name: 'outpost_delivery_attempt_seconds',
  help: 'Time of one delivery attempt: routing, connecting and the SMTP dialogue.',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  registers: [nodeRegistry],
});

const scanSeconds = new Histogram({
  name: 'outpost_scan_seconds',
  help: 'Time of one scan of one message, by scanner.',
  labelNames: ['scanner'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [nodeRegistry],
});

const openSessions = new Set<string>();

new Gauge({
  name: 'outpost_connections',
  help: 'Open connections: in = SMTP submission sessions, out = delivery connections.',
  labelNames: ['direction'] as const,
  registers: [nodeRegistry],
  collect() {
    this.set({ direction: 'in' }, openSessions.size);
    this.set({ direction: 'out' }, outgoingConnections());
  },
});

export const queueGauges = {
  recipients: new Gauge({
    name: 'outpost_queue_recipients',
    help: 'Recipients in the store by state (queued, deferred, held, delivered, bounced).',
    labelNames: ['state'] as const,
    registers: [queueRegistry],
  }),
  messages: new Gauge({
    name: 'outpost_queue_messages',
    help: 'Messages in the store, finished ones included until they are removed.',
    registers: [queueRegistry],
  }),
  oldestAge: new Gauge({
    name: 'outpost_queue_oldest_age_seconds',
    help: 'Age of the oldest message with a recipient queued, deferred or held (0: none).',
    registers: [queueRegistry],
  }),
  blocks: new Gauge({
    name: 'outpost_blocks',
    help: 'Principals (mailboxes, client addresses) blocked until an operator lifts the block.',
    registers: [queueRegistry],
  }),
};

// Series that exist from the start, so a dashboard shows 0 rather than "no data".
for (const source of ['smtp', 'webmail']) accepted.inc({ source }, 0);
for (const result of ['delivered', 'deferred', 'bounced']) deliveries.inc({ result }, 0);

/** RFC 3463: the class is the first digit of the enhanced code (2, 4 or 5). */
function classOf(enhanced: string | null): string {
  return enhanced && /^[245]\./.test(enhanced) ? enhanced[0]! : 'none';
}

installMetricSink({
  accepted: (source) => accepted.inc({ source }),
  refused: (stage, enhanced) =>
    refused.inc({ stage, class: classOf(enhanced), enhanced: enhanced ?? 'none' }),
  attempt: (result, per) => {
    attempts.inc({ result });
    for (const r of per) deliveries.inc({ result: r });
  },
  attemptSeconds: (s) => attemptSeconds.observe(s),
  scanSeconds: (scanner, s) => scanSeconds.observe({ scanner }, s),
  sessionOpened: (sid) => openSessions.add(sid),
  sessionClosed: (sid) => openSessions.delete(sid),
});

let processMetrics = false;

/** Node's own process metrics (CPU, memory, event loop lag, handles), started once. */
export function startProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: nodeRegistry });
}
