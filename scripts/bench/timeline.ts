/**
 * A provisioning run as the database recorded it, and what the benchmarks
 * derive from it: the critical path of the step DAG under the measured step
 * durations, and the time the control plane added around each step.
 *
 * Definitions (also printed in the report):
 * - work(s): provisioning_steps.duration_ms, the time spent in the step's own
 *   code (its provider calls included), measured by the engine.
 * - ready(s): when s could start: the latest finished_at of its dependencies,
 *   or the run's created_at for a root step.
 * - overhead(s) = finished_at(s) − ready(s) − work(s): queue pick-up (NOTIFY,
 *   fetch, a free worker slot), the claim transaction and the success
 *   transaction up to the moment it stamps finished_at. The commit of that
 *   transaction (and the enqueue of the dependents) lands in the dependents'
 *   overhead, so nothing is counted twice and nothing is left out.
 */
import { asc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../../src/db/client.ts';
import { provisioningRuns, provisioningSteps } from '../../src/db/schema/index.ts';
import { criticalPathMs, type RunKind } from '../../provisioning/plan.ts';

export interface StepTiming {
  name: string;
  dependsOn: string[];
  status: string;
  attempt: number;
  startedAt: number;
  finishedAt: number;
  workMs: number;
  overheadMs: number;
  /** startedAt − ready: the part of the overhead before the step was claimed. */
  pickupMs: number;
}

export interface RunTimeline {
  runId: string;
  serverId: string;
  kind: RunKind;
  status: string;
  createdAt: number;
  finishedAt: number;
  wallMs: number;
  steps: StepTiming[];
  /** Longest path through the DAG with each step's work(s) as its duration. */
  criticalPathMs: number;
}

export async function loadTimelines(db: Db, serverIds: string[]): Promise<RunTimeline[]> {
  if (serverIds.length === 0) return [];
  const runs = await db.select().from(provisioningRuns).where(inArray(provisioningRuns.serverId, serverIds)).orderBy(asc(provisioningRuns.createdAt));
  const timelines: RunTimeline[] = [];
  for (const run of runs) {
    const rows = await db.select().from(provisioningSteps).where(eq(provisioningSteps.runId, run.id));
    const finished = new Map(rows.map((r) => [r.name, r.finishedAt?.getTime() ?? Number.NaN]));
    const createdAt = run.createdAt.getTime();
    const steps = rows.map((r): StepTiming => {
      const ready = Math.max(createdAt, ...r.dependsOn.map((d) => finished.get(d) ?? Number.NaN));
      const finishedAt = r.finishedAt?.getTime() ?? Number.NaN;
      const workMs = r.durationMs ?? Number.NaN;
      return {
        name: r.name,
        dependsOn: r.dependsOn,
        status: r.status,
        attempt: r.attempt,
        startedAt: r.startedAt?.getTime() ?? Number.NaN,
        finishedAt,
        workMs,
        overheadMs: finishedAt - ready - workMs,
        pickupMs: (r.startedAt?.getTime() ?? Number.NaN) - ready,
      };
    });
    const finishedAt = run.finishedAt?.getTime() ?? Number.NaN;
    timelines.push({
      runId: run.id,
      serverId: run.serverId,
      kind: run.kind as RunKind,
      status: run.status,
      createdAt,
      finishedAt,
      wallMs: finishedAt - createdAt,
      steps,
      criticalPathMs: criticalPathMs(run.kind as RunKind, Object.fromEntries(steps.map((s) => [s.name, s.workMs]))),
    });
  }
  return timelines;
}

/** The steps on the critical path, first to last (ties broken by the first dependency found). */
export function criticalSteps(timeline: RunTimeline): string[] {
  const byName = new Map(timeline.steps.map((s) => [s.name, s]));
  const memo = new Map<string, { end: number; via: string | null }>();
  const finish = (name: string): number => {
    const known = memo.get(name);
    if (known) return known.end;
    const step = byName.get(name)!;
    let via: string | null = null;
    let start = 0;
    for (const d of step.dependsOn) {
      const end = finish(d);
      if (end > start) {
        start = end;
        via = d;
      }
    }
    memo.set(name, { end: start + step.workMs, via });
    return start + step.workMs;
  };
  let last = timeline.steps[0]!.name;
  for (const s of timeline.steps) if (finish(s.name) > finish(last)) last = s.name;
  const path: string[] = [];
  for (let at: string | null = last; at; at = memo.get(at)!.via) path.unshift(at);
  return path;
}
