/**
 * A small reader of the Prometheus text format for the metrics tests: every sample line as
 * name, labels and value. Comments (# HELP, # TYPE) are skipped; label values are unescaped.
 */
import assert from 'node:assert/strict';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export type Samples = Sample[];

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;

export function parseMetrics(text: string): Samples {
  const out: Samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) {
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    }
    const raw = m[3]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** The value of the one sample with this name and exactly these labels; fails when absent. */
export function sample(samples: Samples, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).sort();
  const found = samples.filter((s) => {
    if (s.name !== name) return false;
    const got = Object.entries(s.labels).sort();
    return got.length === want.length && got.every(([k, v], i) => want[i]![0] === k && want[i]![1] === v);
  });
  assert.equal(found.length, 1, `one sample ${name}${JSON.stringify(labels)}; found ${found.length}`);
  return found[0]!.value;
}
