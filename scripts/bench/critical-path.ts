/**
 * Critical-path efficiency: provisioning runs one after another under the
 * REALISTIC latency profile. For each run, wall time (run created → run
 * finished) divided by the longest path through the step DAG computed from
 * the same run's measured step durations (provisioning/plan.ts criticalPathMs).
 * 1.00 means independent steps fully overlap and the engine adds nothing.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { eq } from 'drizzle-orm';
import { servers } from '../../src/db/schema/index.ts';
import { median, round } from './stats.ts';
import { REALISTIC } from './profile.ts';
import { startProduct } from './product.ts';
import { criticalSteps, loadTimelines } from './timeline.ts';

export interface CriticalPathResult {
  runs: number;
  ratio: number;
  perRun: { wallMs: number; criticalPathMs: number; ratio: number; retriedSteps: number }[];
  criticalSteps: string[];
  /** Median work and overhead per step over the runs (ms). */
  steps: { name: string; workMs: number; overheadMs: number }[];
  settings: Record<string, unknown>;
  /** How late the product's event loop ran timers during the runs (a synchronous step blocks every other one). */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
}

export const CRITICAL_PATH_SETTINGS = {
  // Scaled with the profile: polls (instance state) every 100 ms instead of 5 s.
  pollIntervalMs: 100,
  retry: { baseMs: 200, maxMs: 2_000, maxAttempts: 8 },
  serverBootTimeoutMs: 60_000,
};

export async function benchCriticalPath(databaseUrl: string, runs: number, log: (line: string) => void): Promise<CriticalPathResult> {
  const product = await startProduct({
    databaseUrl,
    profile: REALISTIC,
    settings: CRITICAL_PATH_SETTINGS,
  });
  try {
    const { token, workspaceId } = await product.customer('critical-path@bench.example');
    const serverIds: string[] = [];
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    for (let i = 0; i < runs; i++) {
      const domain = `bench-critical-${i}-mailplane.eu`;
      const session = await product.checkout(token, workspaceId, domain);
      const id = await product.pay(session, domain);
      const { statuses } = await product.waitForServers([id], 120_000);
      if (statuses.get(id) !== 'ready') {
        const [row] = await product.ctx.database.db.select({ reason: servers.statusReason }).from(servers).where(eq(servers.id, id));
        throw new Error(`critical path run ${i}: server ${statuses.get(id)} after 120 s: ${row?.reason ?? 'no reason recorded'}`);
      }
      serverIds.push(id);
      log(`  run ${i + 1}/${runs} ready`);
    }
    loop.disable();
    const timelines = (await loadTimelines(product.ctx.database.db, serverIds)).filter((t) => t.kind === 'provision');
    const perRun = timelines.map((t) => ({
      wallMs: t.wallMs,
      criticalPathMs: t.criticalPathMs,
      ratio: round(t.wallMs / t.criticalPathMs, 3),
      retriedSteps: t.steps.filter((s) => s.attempt > 1).length,
    }));
    const names = timelines[0]!.steps.map((s) => s.name);
    const steps = names.map((name) => {
      const of = timelines.map((t) => t.steps.find((s) => s.name === name)!);
      return { name, workMs: median(of.map((s) => s.workMs)), overheadMs: median(of.map((s) => s.overheadMs)) };
    });
    return {
      runs,
      ratio: round(median(perRun.map((r) => r.ratio)), 3),
      perRun,
      criticalSteps: criticalSteps(timelines[0]!),
      steps,
      settings: { ...CRITICAL_PATH_SETTINGS },
      eventLoopDelayMs: { p50: round(loop.percentile(50) / 1e6, 1), p99: round(loop.percentile(99) / 1e6, 1), max: round(loop.max / 1e6, 1) },
    };
  } finally {
    await product.close();
  }
}
