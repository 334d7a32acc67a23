/**
 * A handler slot that has just finished a job fetches the queue's next ready job and runs it
 * itself, in the same slot, before giving the slot back to pg-boss. For a provisioning step, the
 * job it finds is usually the dependent its own success transaction has just committed: it starts
 * a round trip after that commit instead of after pg-boss's NOTIFY, a wake-up of every idle slot
 * and their competing fetches.
 *
 * The job is fetched with pg-boss's own `fetch` (SKIP LOCKED, the attempt counted) and settled
 * with `complete`/`fail`, so everything pg-boss guarantees still holds: it is refreshed by
 * `touch` at the queue's heartbeat, so a worker that dies mid-job loses it to another worker as
 * any job is lost, and its retries are pg-boss's. Only the wait before it starts is gone.
 *
 * The handler may already have taken that job inside its own transaction (JobQueue.sendManyAndTake:
 * the fetch pipelined behind the insert of the jobs it enqueues, so a dependent is claimed for
 * this slot in the round trip that creates it); the slot runs it first, without fetching.
 */
import type { Job, PgBoss } from 'pg-boss';

export interface CarriedJob {
  id: string;
  retryCount: number;
  data: unknown;
  signal: AbortSignal;
}

export interface HandOffOptions {
  boss: PgBoss;
  name: string;
  /** Aborts a carried job with its slot (pg-boss stopping, or the slot's own job expiring). */
  slotSignal: AbortSignal;
  /**
   * When the slot's own job started (performance.now(): elapsed time on the monotonic clock); nothing
   * new is carried past `budgetMs` from it, so the slot's job never outlives its expiry.
   */
  startedAt: number;
  budgetMs: number;
  stopping: () => boolean;
  /** A job the slot's handler already took (fetched in its own transaction, now committed), run before any fetch. */
  taken?: () => Job<object> | null;
  run: (job: CarriedJob) => Promise<void>;
  onError: (err: unknown, job: { id: string }) => void;
}

/** Runs ready jobs of the queue one after another in this slot until none is ready (or the budget is spent). */
export async function carryOn(opts: HandOffOptions): Promise<void> {
  // A finished job's completion runs beside the next fetch and job, not before them.
  const settling: Promise<void>[] = [];
  try {
    for (;;) {
      // A job already taken is active in pg-boss: it runs even when stopping (the signal aborts it
      // then, as pg-boss's own stop aborts a handler), so it is settled rather than left to expire.
      let job: Job<object> | undefined = opts.taken?.() ?? undefined;
      if (!job) {
        if (opts.stopping() || opts.slotSignal.aborted || performance.now() - opts.startedAt >= opts.budgetMs) return;
        [job] = (await opts.boss.fetch(opts.name, { batchSize: 1 })) as Job<object>[];
      }
      if (!job) return;
      settling.push((await runCarried(opts, job)).settled);
    }
  } finally {
    await Promise.all(settling);
  }
}

/** Runs the job; resolves once it ran, with its settlement (complete or fail) still under way. */
async function runCarried(opts: HandOffOptions, job: Job<object>): Promise<{ settled: Promise<void> }> {
  const expiry = new AbortController();
  const signal = AbortSignal.any([opts.slotSignal, expiry.signal]);
  const expireMs = (job.expireInSeconds ?? 900) * 1000;
  const expireTimer = setTimeout(() => expiry.abort(new Error(`job ${job.id} exceeded ${expireMs / 1000}s`)), expireMs);
  const heartbeat = job.heartbeatSeconds
    ? setInterval(
        () => {
          opts.boss.touch(opts.name, job).catch((err: unknown) => opts.onError(err, job));
        },
        (job.heartbeatSeconds * 1000) / 2,
      )
    : null;
  let failure: unknown = null;
  try {
    await opts.run({ id: job.id, retryCount: job.retryCount, data: job.data, signal });
  } catch (err) {
    failure = err;
  } finally {
    clearTimeout(expireTimer);
    if (heartbeat) clearInterval(heartbeat);
  }
  const settled =
    failure === null
      ? opts.boss.complete(opts.name, job)
      : // As pg-boss settles a handler that threw: failed, retried by the queue's policy.
        opts.boss.fail(opts.name, job, { message: failure instanceof Error ? failure.message : String(failure) });
  return {
    settled: settled.then(
      () => {},
      (err: unknown) => opts.onError(err, job),
    ),
  };
}
