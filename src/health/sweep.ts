/**
 * Once a minute: queue a health run for every ready server whose last run is
 * older than HEALTH_CHECK_INTERVAL_MINUTES (or that has none). Each server
 * keeps its own rhythm from its first run, so checks spread over the interval
 * instead of all firing at the top of the hour.
 */
import { sql } from 'drizzle-orm';
import type { JobQueue } from '../jobs/queue.ts';
import type { HealthDeps } from './deps.ts';

export async function dueServers(deps: Pick<HealthDeps, 'db' | 'intervalMinutes'>): Promise<string[]> {
  const rows = await deps.db.execute<{ id: string }>(sql`
    select s.id from servers s
    left join (select server_id, max(checked_at) as last from server_checks group by server_id) c on c.server_id = s.id
    where s.status = 'ready' and (c.last is null or c.last < now() - make_interval(mins => ${deps.intervalMinutes}))
    limit 500`);
  return [...rows].map((r) => r.id);
}

export async function sweepHealth(deps: Pick<HealthDeps, 'db' | 'intervalMinutes'>, queue: JobQueue): Promise<number> {
  const due = await dueServers(deps);
  for (const serverId of due) await queue.send('health.check_server', { serverId }, { singletonKey: serverId });
  return due.length;
}
