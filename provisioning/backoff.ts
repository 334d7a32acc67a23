/**
 * Exponential backoff with jitter ("equal jitter": half fixed, half random), so
 * many runs failing on the same provider outage do not retry in lockstep. A
 * provider's Retry-After is a floor, never shortened.
 */
export function backoffMs(attempt: number, opts: { baseMs: number; maxMs: number; retryAfterMs?: number | undefined; random?: () => number }): number {
  const random = opts.random ?? Math.random;
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exp / 2 + (random() * exp) / 2;
  return Math.round(Math.max(jittered, opts.retryAfterMs ?? 0));
}
