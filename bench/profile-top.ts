/**
 * Reads a V8 CPU profile (from `node --cpu-prof`, e.g. BENCH_CPU_PROF=/tmp/prof npm run bench)
 * and prints where the time went: self time per function, and total time (self + callees)
 * per function and per file, so the costs of the gateway's own code show next to library
 * and Node internals. Usage: node dist/bench/profile-top.js <file.cpuprofile> [rows=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function short(url: string): string {
  return url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/').replace(/^node:/, 'node:') || '(native)';
}

export function summarise(p: Profile, rows: number): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

  const self = new Map<string, number>();
  // Area: the innermost frame of our own code (dist/src/<folder>/<file>) on the stack, else
  // the innermost npm package, else Node itself: "what part of Outpost caused this work".
  const area = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const fileInclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const key = `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
    // Each sample counts once per distinct function / file on its stack.
    const seen = new Set<string>();
    const seenFiles = new Set<string>();
    let ownArea: string | null = null;
    let pkg: string | null = null;
    for (let cur: number | undefined = id; cur !== undefined && ownArea === null; cur = parent.get(cur)) {
      const url = byId.get(cur)!.callFrame.url;
      const own = /\/dist\/(src\/[^/]+\/[^/]+|src\/[^/]+)\.js$/.exec(url);
      if (own) ownArea = own[1]!;
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
      if (m && pkg === null) pkg = `npm ${m[1]}`;
    }
    const fn = n.callFrame.functionName;
    const a = ownArea ?? pkg ?? (fn.startsWith('(') ? fn : 'node internals');
    area.set(a, (area.get(a) ?? 0) + us);
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const k = `${f.functionName || '(anonymous)'} ${short(f.url)}:${f.lineNumber + 1}`;
      if (!seen.has(k)) {
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + us);
      }
      const file = short(f.url);
      if (!seenFiles.has(file)) {
        seenFiles.add(file);
        fileInclusive.set(file, (fileInclusive.get(file) ?? 0) + us);
      }
    }
  }
  const pct = (us: number): string => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  const top = (m: Map<string, number>): string[] =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, rows).map(([k, us]) => `${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  const wall = (p.endTime - p.startTime) / 1000;
  const idle = [...selfUs].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
  return [
    `profile: ${(wall / 1000).toFixed(1)} s wall, ${((total - idle) / 1e6).toFixed(1)} s on the main thread (${pct(total - idle).trim()} busy)`,
    '', 'self time:', ...top(self),
    '', 'total time (self + callees) per function:', ...top(inclusive),
    '', 'total time per file:', ...top(fileInclusive),
    '', 'by area (innermost own file on the stack, else npm package):', ...top(area),
  ].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/.*[\\/]/, '/'))) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node dist/bench/profile-top.js <file.cpuprofile> [rows]');
    process.exit(2);
  }
  console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(process.argv[3] ?? 25)));
}
