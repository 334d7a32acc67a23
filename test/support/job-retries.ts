/**
 * Walks a job through pg-boss's retries on the real queue tables, without waiting the delays out:
 * after each failed attempt it reads the job's row (state `retry`, retry_count, start_after), then
 * makes the retry due now and waits (on the row, never a sleep) for the worker to fail it again.
 *
 * The delay pg-boss chose cannot be read off the row exactly (the row keeps no time of failure),
 * so each is bounded by times the row does hold: the attempt failed after it started (started_on)
 * and before the test saw it fail (the database's now()). `delay ≥ start_after − seen` and
 * `delay ≤ start_after − started_on` hold however slowly the machine runs.
 */
import type postgres from 'postgres';
import { until } from './until.ts';

export interface JobRow {
  id: string;
  name: string;
  state: string;
  retry_count: number;
  retry_limit: number;
  retry_delay: number;
  retry_backoff: boolean;
  retry_delay_max: number | null;
  dead_letter: string | null;
}

export interface Retry {
  /** retry_count of the attempt that failed (0: the first attempt); the retry is attempt retryCount + 2. */
  retryCount: number;
  /** Bounds of the delay pg-boss chose before this retry, in seconds. */
  atLeast: number;
  atMost: number;
}

export async function jobRow(sql: postgres.Sql, name: string, where: { id?: string; singletonKey?: string }): Promise<JobRow | null> {
  const [row] = await sql<JobRow[]>`
    select id, name, state, retry_count, retry_limit, retry_delay, retry_backoff, retry_delay_max, dead_letter from pgboss.job
    where name = ${name} and (${where.id ?? null}::uuid is null or id = ${where.id ?? null}::uuid)
      and (${where.singletonKey ?? null}::text is null or singleton_key = ${where.singletonKey ?? null})
    order by created_on desc limit 1`;
  return row ?? null;
}

/**
 * Follows job `id` of queue `name` until it has failed for good, making each retry due at once.
 * Returns one entry per retry, in order. `fastForwardTo`: once the job waits for this retry, it is
 * moved to its last one (retry_count = retry_limit − 1 … limit) instead of walking every one.
 */
export async function walkRetries(
  sql: postgres.Sql,
  name: string,
  id: string,
  opts: { fastForwardFrom?: number; timeoutMs?: number } = {},
): Promise<{ retries: Retry[]; final: JobRow }> {
  const retries: Retry[] = [];
  let seen = -1;
  for (;;) {
    const row = await until(
      `job ${id} of ${name} to fail again (after retry ${seen + 1})`,
      async () => {
        const [r] = await sql<(JobRow & { at_least: number; at_most: number })[]>`
        select id, name, state, retry_count, retry_limit, retry_delay, retry_backoff, retry_delay_max, dead_letter,
          extract(epoch from start_after - now())::float8 as at_least, extract(epoch from start_after - started_on)::float8 as at_most
        from pgboss.job where id = ${id}`;
        if (!r) return null;
        if (r.state === 'failed' || r.state === 'completed') return r;
        return r.state === 'retry' && r.retry_count > seen ? r : null;
      },
      opts.timeoutMs ?? 30_000,
      25,
    );
    if (row.state !== 'retry') return { retries, final: row };
    seen = row.retry_count;
    retries.push({
      retryCount: row.retry_count,
      atLeast: row.at_least,
      atMost: row.at_most,
    });
    if (opts.fastForwardFrom !== undefined && row.retry_count === opts.fastForwardFrom) {
      // The retries in between run the same way; the last one is what this walk is for.
      await sql`update pgboss.job set retry_count = retry_limit - 1 where id = ${id} and state = 'retry'`;
      seen = row.retry_limit - 2;
    }
    await sql`update pgboss.job set start_after = now() where id = ${id} and state = 'retry'`;
  }
}

/**
 * pg-boss's backoff after a failed attempt whose retry_count was `retryCount` (0 for the first):
 * retryDelay · 2^(retryCount+1) / 2 up to twice that (random jitter), capped at retryDelayMax.
 */
export function expectedDelay(row: Pick<JobRow, 'retry_delay' | 'retry_delay_max'>, retryCount: number): { min: number; max: number } {
  const exp = 2 ** Math.min(16, retryCount + 1);
  const cap = row.retry_delay_max ?? Infinity;
  return { min: Math.min(cap, (Math.max(row.retry_delay, 1) * exp) / 2), max: Math.min(cap, Math.max(row.retry_delay, 1) * exp) };
}
