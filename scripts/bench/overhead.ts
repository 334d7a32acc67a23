/**
 * Control-plane overhead with every emulator answering at once (ZERO
 * profile): what the engine adds around each step (timeline.ts defines
 * overhead), first on provisions run one after another (nothing queues behind
 * anything else), then for many provisions started at the same moment on
 * this one worker process, where steps also wait for a free handler slot.
 */
import type { RouteRegistrar } from '../../src/api/app.ts';
import type { AppContext } from '../../src/app-context.ts';
import { JOB_CATALOG } from '../../src/jobs/catalog.ts';
import { median, percentile, round } from './stats.ts';
import { ZERO } from './profile.ts';
import { startProduct, type Product } from './product.ts';
import { loadTimelines, type RunTimeline } from './timeline.ts';

const SETTINGS = {
  pollIntervalMs: 20,
  retry: { baseMs: 50, maxMs: 1_000, maxAttempts: 8 },
  serverBootTimeoutMs: 120_000,
};

export interface OverheadBreakdown {
  steps: number;
  medianMs: number;
  p95Ms: number;
  /** Medians of the parts: predecessor's commit + NOTIFY + pg-boss fetch; claim transaction; the rest. */
  parts: { toHandlerMs: number | null; claimMs: number | null; successWriteMs: number | null };
  /** Steps that needed more than one attempt (excluded from the figures above). */
  retriedSteps: number;
}

export interface OverheadResult {
  sequential: OverheadBreakdown & { provisions: number; medianRunWallMs: number; medianRunCriticalPathMs: number };
  concurrent: {
    requested: number;
    /** From the first payment to the last webhook's answer. */
    paidSeconds: number;
    payConcurrency: number;
    succeeded: number;
    /** Settled as failed, or still provisioning at the deadline. */
    failed: number;
    settledBeforeDeadline: boolean;
    deadlineSeconds: number;
    wallSeconds: number;
    stepsPerSecond: number;
    overhead: OverheadBreakdown;
    medianRunWallMs: number;
  };
  handlerConcurrency: number;
  /** Median and p95 of `select 1` on the product's pool, measured between the two parts. */
  dbRoundTripMs: { median: number; p95: number };
  settings: Record<string, unknown>;
}

/** When each step's job reached the engine, by `${runId}:${step}`. */
function recordHandlerEntry(product: Product): Map<string, number> {
  const entered = new Map<string, number>();
  const engine = product.ctx.engine;
  const handle = engine.handleStepJob.bind(engine);
  // The worker looks the engine up on every job (src/workers.ts), so wrapping it here sees every pick-up.
  product.ctx.engine = {
    ...engine,
    handleStepJob: (data, job) => {
      entered.set(`${data.runId}:${data.step}`, Date.now());
      return handle(data, job);
    },
  };
  return entered;
}

function breakdown(timelines: RunTimeline[], entered: Map<string, number>): OverheadBreakdown {
  const steps = timelines.flatMap((t) => t.steps.map((s) => ({ ...s, runId: t.runId })));
  const clean = steps.filter((s) => s.attempt === 1 && Number.isFinite(s.overheadMs));
  const parts = clean.flatMap((s) => {
    const at = entered.get(`${s.runId}:${s.name}`);
    if (at === undefined) return [];
    const ready = s.startedAt - s.pickupMs;
    return [{ toHandler: at - ready, claim: s.startedAt - at, rest: s.overheadMs - s.pickupMs }];
  });
  const medianOrNull = (values: number[]) => (values.length ? round(median(values), 1) : null);
  return {
    steps: clean.length,
    medianMs: round(median(clean.map((s) => s.overheadMs)), 1),
    p95Ms: round(
      percentile(
        clean.map((s) => s.overheadMs),
        95,
      ),
      1,
    ),
    parts: {
      toHandlerMs: medianOrNull(parts.map((p) => p.toHandler)),
      claimMs: medianOrNull(parts.map((p) => p.claim)),
      successWriteMs: medianOrNull(parts.map((p) => p.rest)),
    },
    retriedSteps: steps.length - clean.length,
  };
}

/** Pays every session, at most `limit` webhooks in flight; the server ids in the sessions' order. */
async function payAll(product: Product, sessions: string[], domains: string[], limit: number): Promise<string[]> {
  const ids: string[] = new Array(sessions.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < sessions.length; i = next++) ids[i] = await product.pay(sessions[i]!, domains[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, sessions.length) }, lane));
  return ids;
}

async function dbRoundTrip(product: Product): Promise<{ median: number; p95: number }> {
  const samples: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await product.ctx.database.sql`select 1`;
    samples.push(performance.now() - t);
  }
  return { median: round(median(samples), 2), p95: round(percentile(samples, 95), 2) };
}

export interface OverheadOptions<T> {
  sequential: number;
  concurrent: number;
  /** The benchmark stays bounded: provisions not settled by then count as not succeeded. */
  concurrentTimeoutMs: number;
  routes?: (ctx: AppContext) => RouteRegistrar[];
  /**
   * Webhooks in flight at once while paying (default 50). A thousand at once is no provisioning load
   * but a burst at one HTTP route: each waits for the database pool behind the others and the runs
   * they start, and most outlast the 15 s after which Stripe gives up on a delivery (it would deliver
   * again later; the bench would count a failure).
   */
  payConcurrency?: number;
  /** Runs on the same product once the provisions are done (the API benchmark). */
  after?: (product: Product, customer: { token: string; workspaceId: string; serverId: string }) => Promise<T>;
}

export async function benchOverhead<T>(
  databaseUrl: string,
  opts: OverheadOptions<T>,
  log: (line: string) => void,
): Promise<OverheadResult & { after: T | null }> {
  const product = await startProduct({ databaseUrl, profile: ZERO, settings: SETTINGS, ...(opts.routes ? { routes: opts.routes } : {}) });
  try {
    const entered = recordHandlerEntry(product);
    const { token, workspaceId } = await product.customer('overhead@bench.example');

    // One after another: the overhead of the engine itself.
    const sequentialIds: string[] = [];
    for (let i = 0; i < opts.sequential; i++) {
      const domain = `bench-seq-${i}-mailplane.eu`;
      const id = await product.pay(await product.checkout(token, workspaceId, domain), domain);
      const status = (await product.waitForServers([id], 120_000)).statuses.get(id);
      if (status !== 'ready') throw new Error(`sequential provision ${i}: server ${status} after 120 s`);
      sequentialIds.push(id);
    }
    const sequential = (await loadTimelines(product.ctx.database.db, sequentialIds)).filter((t) => t.kind === 'provision');
    log(`  ${opts.sequential} sequential provisions done`);
    const roundTrip = await dbRoundTrip(product);

    // All at once: checkouts first (not timed), then every payment together.
    const domains = Array.from({ length: opts.concurrent }, (_, i) => `bench-load-${i}-mailplane.eu`);
    const sessions: string[] = [];
    for (const domain of domains) sessions.push(await product.checkout(token, workspaceId, domain));
    log(`  ${opts.concurrent} checkouts ready; paying all at once`);
    const started = Date.now();
    const ids = await payAll(product, sessions, domains, opts.payConcurrency ?? 50);
    const paidSeconds = (Date.now() - started) / 1000;
    const { settled, statuses } = await product.waitForServers(ids, opts.concurrentTimeoutMs, 250);
    const concurrent = (await loadTimelines(product.ctx.database.db, ids)).filter((t) => t.kind === 'provision');
    // Unsettled at the deadline: the wall time is the deadline, and succeeded says how far it got.
    const lastFinished = settled ? Math.max(...concurrent.map((t) => t.finishedAt).filter(Number.isFinite)) : Date.now();
    const wallSeconds = (lastFinished - started) / 1000;
    const succeeded = [...statuses.values()].filter((s) => s === 'ready').length;
    log(`  paid in ${paidSeconds.toFixed(1)} s (${opts.payConcurrency ?? 50} webhooks at a time)`);
    const stepCount = concurrent.reduce((n, t) => n + t.steps.length, 0);
    log(`  ${succeeded}/${opts.concurrent} concurrent provisions ready in ${wallSeconds.toFixed(1)} s`);
    const after = opts.after ? await opts.after(product, { token, workspaceId, serverId: sequentialIds[0]! }) : null;

    return {
      sequential: {
        provisions: opts.sequential,
        ...breakdown(sequential, entered),
        medianRunWallMs: median(sequential.map((t) => t.wallMs)),
        medianRunCriticalPathMs: median(sequential.map((t) => t.criticalPathMs)),
      },
      concurrent: {
        requested: opts.concurrent,
        paidSeconds: round(paidSeconds, 2),
        payConcurrency: opts.payConcurrency ?? 50,
        succeeded,
        failed: opts.concurrent - succeeded,
        settledBeforeDeadline: settled,
        deadlineSeconds: Math.round(opts.concurrentTimeoutMs / 1000),
        wallSeconds: round(wallSeconds, 2),
        stepsPerSecond: round(stepCount / wallSeconds, 1),
        overhead: breakdown(concurrent, entered),
        medianRunWallMs: median(concurrent.map((t) => t.wallMs).filter(Number.isFinite)),
      },
      handlerConcurrency: JOB_CATALOG['provisioning.step'].concurrency,
      dbRoundTripMs: roundTrip,
      settings: { ...SETTINGS },
      after,
    };
  } finally {
    await product.close();
  }
}
