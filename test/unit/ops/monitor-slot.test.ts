import { describe, expect, it } from 'vitest';
import { monitorSlot } from '../../../src/ops/monitor.ts';

// Deterministic ids (a random sample could, rarely, be lumpy and fail).
const ids = Array.from({ length: 6000 }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);

describe('monitor slots', () => {
  it('gives a server the same minute every time, within the interval', () => {
    for (const id of ids.slice(0, 50)) {
      const slot = monitorSlot(id, 60);
      expect(slot).toBe(monitorSlot(id, 60));
      expect(slot).toBeGreaterThanOrEqual(0);
      expect(slot).toBeLessThan(60);
    }
  });

  it('spreads servers evenly over the interval instead of checking them all at once', () => {
    const perMinute = new Array(60).fill(0);
    for (const id of ids) perMinute[monitorSlot(id, 60)]++;
    // 100 per minute on average; no minute carries more than 1.5× or less than half of it.
    expect(Math.max(...perMinute)).toBeLessThan(150);
    expect(Math.min(...perMinute)).toBeGreaterThan(50);
  });

  it('puts every server in slot 0 with a one-minute interval', () => {
    expect(new Set(ids.slice(0, 100).map((id) => monitorSlot(id, 1)))).toEqual(new Set([0]));
  });
});
