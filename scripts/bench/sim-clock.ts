/**
 * Simulated time for the fleet benchmark: the product's clock (src/clock.ts) reads a minute the
 * benchmark sets, and the benchmark decides which scheduled jobs fire in that minute from the crons
 * the product registered with pg-boss (pg-boss's own timekeeper follows the real clock, so the
 * benchmark takes the schedules over). Sleeps stay real: retry back-offs and poll loops inside a
 * job take the time they take.
 */
import { systemClock, type Clock } from '../../src/clock.ts';

export class SimulatedClock implements Clock {
  private at: number;

  constructor(start: number) {
    this.at = start;
  }

  now(): number {
    return this.at;
  }

  set(at: number): void {
    this.at = at;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }
}

const RANGES = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 6],
] as const;

/** One field of a cron: `*`, `n`, `a-b`, `*` or a range with `/step`, and lists of those. */
function fieldMatches(field: string, value: number, [min, max]: readonly [number, number]): boolean {
  return field.split(',').some((part) => {
    const m = /^(\*|\d+(?:-\d+)?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`cron field "${field}" is beyond this matcher`);
    const [from, to] =
      m[1] === '*' ? [min, max] : m[1]!.includes('-') ? (m[1]!.split('-').map(Number) as [number, number]) : [Number(m[1]), m[2] ? max : Number(m[1])];
    const step = m[2] ? Number(m[2]) : 1;
    return value >= from && value <= to && (value - from) % step === 0;
  });
}

/** Whether a five-field cron (UTC, as pg-boss schedules by default) fires in the minute of `at`. */
export function cronFires(cron: string, at: Date): boolean {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) throw new Error(`cron "${cron}": five fields expected`);
  const values = [at.getUTCMinutes(), at.getUTCHours(), at.getUTCDate(), at.getUTCMonth() + 1, at.getUTCDay()];
  return fields.every((f, i) => fieldMatches(f, values[i]!, RANGES[i]!));
}
