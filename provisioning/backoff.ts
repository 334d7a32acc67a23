/**
 * The step engine's backoff between attempts of a provisioning step (provisioning/engine.ts), the
 * one retry schedule mailplane still computes itself: a step's attempts live in the step table
 * (support sees the next attempt, re-runs a step or resumes a run with fresh attempts, a wait of
 * days spends none), and a provider's Retry-After (a Scaleway or Cloudflare 429) can ask for longer
 * than any backoff, which pg-boss's queue policy cannot honour. Every other queue's retries are
 * pg-boss's (src/jobs/catalog.ts).
 *
 * Exponential with jitter ("equal jitter": half fixed, half random), so many runs failing on the
 * same provider outage do not retry in lockstep. A provider's Retry-After is a floor, never shortened.
 */
export function backoffMs(attempt: number, opts: { baseMs: number; maxMs: number; retryAfterMs?: number | undefined; random?: () => number }): number {
  const random = opts.random ?? Math.random;
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exp / 2 + (random() * exp) / 2;
  return Math.round(Math.max(jittered, opts.retryAfterMs ?? 0));
}
