/**
 * A clock the test sets: `now()` answers the time it was given until the test moves it, so a
 * check that reads the wall clock instead of the injected one gives a different answer and fails.
 * Sleeping waits real time (capped): the code under test here reads the time, it does not wait on it.
 */
import type { Clock } from '../../src/clock.ts';

export interface ManualClock extends Clock {
  set(at: number | Date): void;
  advance(ms: number): void;
}

export function manualClock(at: number | Date): ManualClock {
  let now = typeof at === 'number' ? at : at.getTime();
  return {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        setTimeout(resolve, Math.min(ms, 20));
      }),
    set(to) {
      now = typeof to === 'number' ? to : to.getTime();
    },
    advance(ms) {
      now += ms;
    },
  };
}
