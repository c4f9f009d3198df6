/**
 * The config file's schema: every key, its type, its default. Unknown keys are refused, so a
 * typo never passes silently. outpost.example.toml documents the same keys for operators.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseDuration, parseSize } from './units.js';

const duration = z.string().transform((s, ctx) => {
  const ms = parseDuration(s);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a duration (use s, m, h, d: "90s", "4d22h")` });
    return z.NEVER;
  }
  return ms;
});

const size = z.union([z.string(), z.number()]).transform((s, ctx) => {
  const n = parseSize(s);
  if (n === null) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a size (use "35MB", "512k" or bytes)` });
    return z.NEVER;
  }
  return n;
});

/** "host:port", "[v6]:port"; the port is required. */
const listenAddress = z.string().refine((s) => parseHostPort(s) !== null, {
  message: 'expected "address:port", e.g. "127.0.0.1:2587" or "[::1]:2587"',
});

const cidr = z.string().refine((s) => {
  const [addr, bits, extra] = s.split('/');
  if (extra !== undefined || !addr || isIP(addr) === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (isIP(addr) === 4 ? 32 : 128);
}, { message: 'expected an address or network like "10.0.0.0/8" or "::1/128"' });

const retrySlot = z.string().refine((s) => /^\s*\S+\s+until\s+\S+\s*$/.test(s) &&
  s.trim().split(/\s+/).filter((_, i) => i !== 1).every((p) => (parseDuration(p) ?? 0) > 0), {
  message: 'expected "<interval> until <age>", e.g. "5m until 6h"',
});

/** The age a retry step runs until, in ms ("5m until 6h" -> 6h). */
const untilOf = (step: string): number => parseDuration(step.trim().split(/\s+/)[2] ?? '') ?? 0;

export const configSchema = z.strictObject({
  /** EHLO name, Received headers, DSN sender. */
  hostname: z.string().min(1).optional(),
  /** Where the embedded store, the self-signed TLS pair and runtime files live. */
  data_dir: z.string().min(1).default('./outpost-data'),
  /** Name of this node in logs and leases; default: hostname and process id. */
  node_id: z.string().min(1).optional(),

  smtp: z.strictObject({
    submission: z.array(listenAddress).default(['127.0.0.1:2587']),
    submissions: z.array(listenAddress).default(['127.0.0.1:2465']),
    max_message_size: size.default(35 * 1024 * 1024),
    max_recipients: z.number().int().positive().default(100),
    max_errors: z.number().int().positive().default(10),
    idle_timeout: duration.default(300_000),
    shutdown_grace: duration.default(10_000),
  }).prefault({}),

  tls: z.strictObject({
    cert: z.string().optional(),
    key: z.string().optional(),
  }).prefault({}).refine((t) => (t.cert === undefined) === (t.key === undefined), {
    message: 'cert and key must be given together',
  }),

  relay: z.strictObject({
    trusted_networks: z.array(cidr).default(['127.0.0.0/8', '::1/128']),
  }).prefault({}),

  auth: z.strictObject({
    /** Failures from one address within the window before it is refused for a while. */
    max_failures: z.number().int().positive().default(5),
    failure_window: duration.default(300_000),
    lockout: duration.default(900_000),
    /** Delay added to each failed attempt after the first, to slow guessing. */
    failure_delay: duration.default(1000),
  }).prefault({}),

  dns: z.strictObject({
    servers: z.array(z.string().refine((s) => {
      const hp = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
      if (isIP(s) !== 0) return true;
      return hp !== null && isIP(hp[1]!) !== 0 && (hp[2] === undefined || Number(hp[2]) <= 65535);
    }, { message: 'expected a resolver address: "ip", "ip:port" or "[v6]:port"' })).optional(),
    timeout: duration.default(5000),
  }).prefault({}),

  delivery: z.strictObject({
    port: z.number().int().min(1).max(65535).default(25),
    routes: z.record(z.string(), listenAddress).default({}),
    max_connections: z.number().int().positive().default(100),
    max_per_destination: z.number().int().positive().default(10),
    /** Messages sent over one connection before it is closed. */
    max_messages_per_connection: z.number().int().positive().default(100),
    /** RFC 5321 section 4.5.3.2 time-outs. */
    connect_timeout: duration.default(30_000),
    greeting_timeout: duration.default(300_000),
    command_timeout: duration.default(300_000),
    data_timeout: duration.default(600_000),
    tls: z.enum(['opportunistic', 'none']).default('opportunistic'),
  }).prefault({}),

  retry: z.strictObject({
    schedule: z.array(retrySlot).min(1).default(['5m until 6h', '1h until 22h', '6h until 4d22h'])
      .refine((steps) => steps.every((s, i) => i === 0 || untilOf(s) > untilOf(steps[i - 1]!)), {
        message: 'each step must end later than the one before, e.g. ["5m until 6h", "1h until 22h"]',
      }),
    delay_notice_after: duration.default(4 * 3_600_000),
    delay_notice_every: duration.default(24 * 3_600_000),
  }).prefault({}),

  queue: z.strictObject({
    /** How long a node holds a claimed delivery before another node may take it. */
    lease: duration.default(30_000),
    /** Longest sleep of an idle queue runner. */
    poll_interval: duration.default(1000),
  }).prefault({}),

  scan: z.strictObject({
    baseline: z.strictObject({
      enabled: z.boolean().default(true),
      blocked_extensions: z.array(z.string()).default([
        'exe', 'scr', 'com', 'bat', 'cmd', 'pif', 'cpl', 'js', 'jse', 'vbs', 'vbe', 'wsf',
        'wsh', 'hta', 'msi', 'msp', 'lnk', 'jar', 'ps1', 'reg',
      ]),
    }).prefault({}),
    clamd: z.strictObject({
      address: z.string().min(1),
      timeout: duration.default(30_000),
      fail_open: z.boolean().default(false),
    }).optional(),
    rspamd: z.strictObject({
      url: z.string().url(),
      reject_score: z.number().default(15),
      /** Score at which a message counts as high-scoring for the spam restriction. */
      high_score: z.number().optional(),
      add_header: z.boolean().default(false),
      timeout: duration.default(30_000),
      fail_open: z.boolean().default(false),
    }).optional(),
  }).prefault({}),

  limits: z.strictObject({
    invalid_recipient_messages: z.number().int().positive().default(5),
    invalid_recipient_window: duration.default(600_000),
    spam_messages: z.number().int().positive().default(3),
    spam_window: duration.default(600_000),
    recipients_per_message: z.number().int().positive().default(100),
    recipients_per_hour: z.number().int().positive().default(500),
    messages_per_hour: z.number().int().positive().default(200),
  }).prefault({}),

  web: z.strictObject({
    listen: z.array(listenAddress).default(['127.0.0.1:8080']),
    trusted_proxies: z.array(cidr).default([]),
    session_ttl: duration.default(8 * 3_600_000),
    /** Clients that may read GET /metrics (Prometheus), as the web listener sees them. */
    metrics_from: z.array(cidr).default(['127.0.0.0/8', '::1/128']),
  }).prefault({}),

  store: z.strictObject({
    postgres: z.string().regex(/^postgres(ql)?:\/\//, {
      message: 'expected a PostgreSQL URL, "postgres://user@host:5432/database"',
    }).optional(),
  }).prefault({}),

  log: z.strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  }).prefault({}),
});

export type Config = z.output<typeof configSchema>;

/** Splits "127.0.0.1:25" or "[::1]:25" into host and port; null when malformed. */
export function parseHostPort(s: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:\s]+):(\d+)$/.exec(s);
  if (!m) return null;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return null;
  return { host: m[1]!, port };
}
