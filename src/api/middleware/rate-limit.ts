/**
 * Fixed-window rate limiting keyed by client IP or credential. Counters live in
 * process memory: with N API processes the effective limit is N times the
 * configured one, which is acceptable for abuse control (the limits exist to
 * stop hammering, not to meter billing). Windows are swept as they expire.
 */
import type { MiddlewareHandler } from 'hono';
import { RateLimitedError } from '../../errors.ts';
import type { AppEnv } from '../env.ts';

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(opts: { limit: number; windowMs: number; now?: () => number }) {
    this.limit = opts.limit;
    this.windowMs = opts.windowMs;
    this.now = opts.now ?? Date.now;
  }

  /** Counts one hit; returns ms to wait when over the limit, else 0. */
  hit(key: string): number {
    const now = this.now();
    if (now - this.lastSweep > this.windowMs) this.sweep(now);
    const start = now - (now % this.windowMs);
    let w = this.windows.get(key);
    if (!w || w.start !== start) {
      w = { start, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    return w.count > this.limit ? start + this.windowMs - now : 0;
  }

  /** Takes back one hit of the current window: for limits that count only what succeeded. */
  refund(key: string): void {
    const now = this.now();
    const w = this.windows.get(key);
    if (w && w.start === now - (now % this.windowMs) && w.count > 0) w.count--;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, w] of this.windows) if (w.start + this.windowMs <= now) this.windows.delete(k);
  }
}

export function rateLimit(limiter: RateLimiter, keyOf: (c: Parameters<MiddlewareHandler<AppEnv>>[0]) => string | null): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = keyOf(c);
    if (key !== null) {
      const waitMs = limiter.hit(key);
      if (waitMs > 0) throw new RateLimitedError(waitMs, `Rate limit exceeded; retry in ${Math.ceil(waitMs / 1000)} s`);
    }
    await next();
  };
}
