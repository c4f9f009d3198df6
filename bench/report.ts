/**
 * The bench's results: each row is printed as it is measured, the whole set as one table at
 * the end, and every row appended as a JSON line to bench-results/<date>.jsonl (gitignored)
 * so runs can be compared later.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RunFigures } from './measure.js';

export interface Row extends Partial<RunFigures> {
  case: string;
  /** What ran: "outpost", "postfix", "outpost+clamd", "2 nodes postgres", ... */
  system: string;
  peakMb?: number;
  note?: string;
}

export interface Ratio {
  case: string;
  what: string;
  value: number;
  goal?: number;
}

export class Report {
  readonly rows: Row[] = [];
  readonly ratios: Ratio[] = [];
  readonly notes: string[] = [];
  private readonly file: string;
  private readonly runId = new Date().toISOString();

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, `${this.runId.slice(0, 10)}.jsonl`);
  }

  get path(): string {
    return this.file;
  }

  add(row: Row): void {
    this.rows.push(row);
    this.write({ type: 'run', ...row });
    console.log(`  ${row.case} / ${row.system}: ${summary(row)}`);
  }

  ratio(r: Ratio): void {
    this.ratios.push(r);
    this.write({ type: 'ratio', ...r });
    console.log(`  ${r.case}: ${r.what} = ${r.value.toFixed(2)}${r.goal ? ` (goal >= ${r.goal})` : ''}`);
  }

  note(text: string): void {
    this.notes.push(text);
    this.write({ type: 'note', text });
    console.log(`  note: ${text}`);
  }

  private write(obj: Record<string, unknown>): void {
    const line = { run: this.runId, host: os.hostname(), cpus: os.cpus().length, node: process.version, ...obj };
    appendFileSync(this.file, JSON.stringify(line) + '\n');
  }

  table(): string {
    const head = ['case', 'system', 'msgs', 'size', 'conn x msgs', 'submit msg/s', 'p50 ms', 'p99 ms', 'e2e msg/s', 'drain s', 'cpu ms/msg', 'busy %', 'peak MB', 'bad'];
    const body = this.rows.map((r) => [
      r.case,
      r.system,
      String(r.n ?? ''),
      r.size === undefined ? '' : r.size >= 1024 ? `${Math.round(r.size / 1024)}K` : String(r.size),
      r.connections === undefined ? '' : `${r.connections}x${r.perConnection}`,
      fmt(r.submitRate),
      fmt(r.p50, 1),
      fmt(r.p99, 1),
      fmt(r.e2eRate),
      fmt(r.drainS, 1),
      fmt(r.cpuMsPerMsg, 2),
      fmt(r.machineBusyPct),
      fmt(r.peakMb),
      bad(r),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
    const line = (cells: string[]): string => '| ' + cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
    const out = [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)];
    if (this.ratios.length) {
      out.push('', 'Ratios:');
      for (const r of this.ratios) {
        const verdict = r.goal === undefined ? '' : r.value >= r.goal ? `  (goal >= ${r.goal}: met)` : `  (goal >= ${r.goal}: NOT met)`;
        out.push(`  ${r.case}: ${r.what} = ${r.value.toFixed(2)}${verdict}`);
      }
    }
    if (this.notes.length) out.push('', 'Notes:', ...this.notes.map((n) => `  - ${n}`));
    return out.join('\n');
  }
}

function fmt(v: number | undefined, digits = 0): string {
  return v === undefined ? '' : digits ? v.toFixed(digits) : String(Math.round(v));
}

function bad(r: Row): string {
  const parts: string[] = [];
  if (r.refused) parts.push(`${r.refused} refused`);
  if (r.failedSessions) parts.push(`${r.failedSessions} broken`);
  if (r.n !== undefined && r.sent !== undefined && r.sent + (r.refused ?? 0) < r.n) parts.push(`${r.n - r.sent} unsent`);
  if (r.delivered !== undefined && r.sent !== undefined && r.delivered < r.sent) parts.push(`${r.sent - r.delivered} undelivered`);
  if (r.timedOut) parts.push('time-out');
  return parts.join(', ') || '-';
}

function summary(r: Row): string {
  const parts = [`${r.sent ?? 0}/${r.n ?? 0} sent`, `submit ${fmt(r.submitRate)} msg/s`, `p50 ${fmt(r.p50, 1)} ms`, `p99 ${fmt(r.p99, 1)} ms`];
  if (r.e2eRate !== undefined) parts.push(`e2e ${fmt(r.e2eRate)} msg/s (drain ${fmt(r.drainS, 1)} s)`);
  if (r.cpuMsPerMsg !== undefined) parts.push(`cpu ${fmt(r.cpuMsPerMsg, 2)} ms/msg`);
  if (r.machineBusyPct !== undefined) parts.push(`machine ${r.machineBusyPct} % busy`);
  if (r.peakMb !== undefined) parts.push(`peak ${r.peakMb} MB`);
  const b = bad(r);
  if (b !== '-') parts.push(`PROBLEMS: ${b}`);
  if (r.errors?.length) parts.push(`first error: ${r.errors[0]}`);
  if (r.note) parts.push(r.note);
  return parts.join(', ');
}
