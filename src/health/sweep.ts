/**
 * Once a minute: queue a health run for every ready server whose run is due
 * (server_schedules, src/jobs/due-sweep.ts: one indexed claim, one batch insert),
 * every HEALTH_CHECK_INTERVAL_MINUTES. Each server keeps its own rhythm, so
 * checks spread over the interval instead of all firing at the top of the hour.
 */
import type { JobQueue } from '../jobs/queue.ts';
import { claimDue } from '../jobs/due-sweep.ts';
import type { HealthDeps } from './deps.ts';

/** At most this many runs queued a minute: 10,000 servers every 15 minutes need about 670. */
export const HEALTH_SWEEP_LIMIT = 2_000;

export async function sweepHealth(deps: Pick<HealthDeps, 'db' | 'intervalMinutes' | 'now'>, queue: JobQueue): Promise<number> {
  const due = await claimDue(deps.db, {
    kind: 'health',
    statuses: ['ready'],
    intervalMinutes: deps.intervalMinutes,
    now: deps.now(),
    limit: HEALTH_SWEEP_LIMIT,
  });
  await queue.sendMany(
    'health.check_server',
    due.map((serverId) => ({ data: { serverId }, singletonKey: serverId })),
  );
  return due.length;
}
