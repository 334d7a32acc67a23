/**
 * Fault injection shared by every HTTP emulator: added latency, a random
 * 5xx rate and random 429s with Retry-After. Reliability tests and benchmarks
 * change the profile at run time through each emulator's inspection API.
 */
import type { Context, MiddlewareHandler } from 'hono';

export interface FaultProfile {
  /** Added to every request (ms). */
  latencyMs?: number;
  /** Share of requests answered 5xx (0..1). */
  errorRate?: number;
  /** Share of requests answered 429 (0..1). */
  rateLimitRate?: number;
  /** Retry-After sent with injected 429s (seconds). */
  retryAfterSeconds?: number;
}

export type ErrorBody = (c: Context, status: 429 | 500 | 503) => Response;

/** A targeted fault: the next `times` requests matching method and path answer `status`. */
export interface FailNext {
  method: string;
  path: RegExp;
  times: number;
  status?: 500 | 503;
}

export class FaultInjector {
  private profile: FaultProfile;
  private readonly random: () => number;
  private targeted: FailNext[] = [];
  injected = { errors: 0, rateLimited: 0 };

  constructor(profile: FaultProfile = {}, random: () => number = Math.random) {
    this.profile = { ...profile };
    this.random = random;
  }

  set(profile: FaultProfile): void {
    this.profile = { ...profile };
  }

  get current(): FaultProfile {
    return { ...this.profile };
  }

  /** Tests stage a failure at one exact call (a create that fails half-way), not at random. */
  failNext(rule: FailNext): void {
    this.targeted.push({ ...rule });
  }

  /** Paths starting with `exempt` (the inspection API) are never faulted. */
  middleware(errorBody: ErrorBody, exempt = '/__sandbox'): MiddlewareHandler {
    return async (c, next) => {
      if (c.req.path.startsWith(exempt)) return next();
      const rule = this.targeted.find((r) => r.times > 0 && r.method === c.req.method && r.path.test(c.req.path));
      if (rule) {
        rule.times--;
        this.injected.errors++;
        return errorBody(c, rule.status ?? 500);
      }
      const { latencyMs = 0, errorRate = 0, rateLimitRate = 0, retryAfterSeconds = 0 } = this.profile;
      if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      const roll = this.random();
      if (roll < rateLimitRate) {
        this.injected.rateLimited++;
        const res = errorBody(c, 429);
        res.headers.set('Retry-After', String(retryAfterSeconds));
        return res;
      }
      if (roll < rateLimitRate + errorRate) {
        this.injected.errors++;
        return errorBody(c, this.random() < 0.5 ? 500 : 503);
      }
      return next();
    };
  }
}
