/**
 * The retry schedule, measured from the time a message was accepted. The first attempt is
 * made at once; "5m until 6h" then means slots at 5m, 10m, ... 6h, and a following
 * "1h until 22h" continues at 7h, 8h, ... 22h. After the last slot the gateway gives up.
 */
import { parseDuration } from '../config/units.js';

export interface ScheduleStep {
  interval: number;
  until: number;
}

export class RetrySchedule {
  readonly steps: ScheduleStep[];

  constructor(spec: string[]) {
    this.steps = spec.map((s) => {
      const [interval, word, until] = s.trim().split(/\s+/);
      const i = parseDuration(interval ?? '');
      const u = parseDuration(until ?? '');
      if (word !== 'until' || !i || !u) throw new Error(`bad retry schedule step "${s}"`);
      return { interval: i, until: u };
    });
  }

  /** The age after which no attempt is made: the message is bounced. */
  get giveUpAge(): number {
    return this.steps.reduce((max, s) => Math.max(max, s.until), 0);
  }

  /** Every slot, as an age in ms from acceptance, the first attempt (0) included. */
  slots(): number[] {
    const out = [0];
    let t = 0;
    for (const step of this.steps) {
      while (t + step.interval <= step.until) {
        t += step.interval;
        out.push(t);
      }
    }
    return out;
  }

  /**
   * The first slot strictly after `now` for a message accepted at `created`, as an absolute
   * time; null when the schedule has run out.
   */
  nextSlot(created: number, now: number): number | null {
    const age = now - created;
    let t = 0;
    for (const step of this.steps) {
      if (t + step.interval > step.until) continue;
      if (age < step.until) {
        // The first multiple of the interval past both the step's start and the current age.
        const k = Math.max(1, Math.floor((age - t) / step.interval) + 1);
        const slot = t + k * step.interval;
        if (slot <= step.until) return created + slot;
      }
      t += Math.floor((step.until - t) / step.interval) * step.interval;
    }
    return null;
  }
}
