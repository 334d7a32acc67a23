/**
 * Where a provisioning run's wall time goes: each step's start (seconds after the
 * payment), its own duration, and the gap before it started once the last step it
 * depends on had finished (the queue hop, or a wait such as activate_zone's). The
 * critical path is the chain of steps whose finish started the next one, back from
 * the last step: its durations and gaps add up to payment → ready.
 */
import { PLANS } from '../../provisioning/plan.ts';
import type { provisioningSteps } from '../../src/db/schema/index.ts';
import { round } from './stats.ts';

type StepRow = typeof provisioningSteps.$inferSelect;

export interface TimelineStep {
  name: string;
  /** Seconds after the payment the step (its last attempt) started. */
  start: number;
  seconds: number;
  /** Seconds between its dependencies' last finish (or the payment) and its start. */
  gap: number;
  onCriticalPath: boolean;
}

export function stepTimeline(rows: readonly StepRow[], paidAtMs: number): TimelineStep[] {
  const plan = PLANS.provision;
  const byName = new Map(rows.map((r) => [r.name, r]));
  const ms = (d: Date | null) => (d ? d.getTime() : Number.NaN);
  const readyAfter = (name: string) => Math.max(paidAtMs, ...(plan[name] ?? []).map((dep) => ms(byName.get(dep)?.finishedAt ?? null)));
  // Walk back from the step that finished last through the dependency that finished last.
  const critical = new Set<string>();
  let cursor = [...rows].sort((a, b) => ms(b.finishedAt) - ms(a.finishedAt))[0];
  while (cursor) {
    critical.add(cursor.name);
    const deps = (plan[cursor.name] ?? []).map((d) => byName.get(d)).filter((d): d is StepRow => d !== undefined);
    cursor = deps.sort((a, b) => ms(b.finishedAt) - ms(a.finishedAt))[0];
  }
  return [...rows]
    .filter((r) => r.startedAt && r.finishedAt)
    .sort((a, b) => ms(a.startedAt) - ms(b.startedAt))
    .map((r) => ({
      name: r.name,
      start: round((ms(r.startedAt) - paidAtMs) / 1000, 2),
      seconds: round((ms(r.finishedAt) - ms(r.startedAt)) / 1000, 2),
      gap: round((ms(r.startedAt) - readyAfter(r.name)) / 1000, 2),
      onCriticalPath: critical.has(r.name),
    }));
}

/** One line per step, for a log: `  +12.34 s  install_mail_stack  8.10 s (gap 0.05 s) *` (* = critical path). */
export function formatTimeline(steps: readonly TimelineStep[]): string {
  return steps
    .map(
      (s) =>
        `  +${s.start.toFixed(2).padStart(7)} s  ${s.name.padEnd(20)} ${s.seconds.toFixed(2).padStart(7)} s  (gap ${s.gap.toFixed(2)} s)${s.onCriticalPath ? ' *' : ''}`,
    )
    .join('\n');
}
