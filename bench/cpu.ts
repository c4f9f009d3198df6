/**
 * CPU accounting from /proc, so that a figure taken on a busy machine can still be read:
 * the CPU time a server used per message does not depend on how much of the machine other
 * work took, while its messages per second do.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces). */
function statFields(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime of one process (all its threads), ms. */
export function processCpuMs(pid: number): number {
  const f = statFields(pid);
  // After ")": state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
  return f ? (Number(f[11]) + Number(f[12])) * TICK_MS : 0;
}

/**
 * CPU of a process and its children, live and exited (a parent's cutime/cstime include the
 * children it has reaped): for Postfix's master, whose workers come and go during a run.
 */
export function treeCpuMs(pid: number): number {
  const f = statFields(pid);
  if (!f) return 0;
  let ms = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const c = statFields(Number(entry));
    if (c && Number(c[1]) === pid) ms += (Number(c[11]) + Number(c[12])) * TICK_MS;
  }
  return ms;
}

/** Busy and total jiffies of all CPUs (from the first line of /proc/stat). */
export function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = cpu as [number, number, number, number, number, number, number, number];
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}
