/**
 * When each ready server's drift check is due: `server_stacks.next_drift_check_at` (indexed),
 * moved forward by the interval when the check is queued, so a sweep finds due work with one
 * indexed query however large the fleet, and a doubled sweep queues nothing twice (the job's
 * singleton key is the server). A ready server without a row yet (older than drift checks) is due.
 */
import { sql } from 'drizzle-orm';
import type { FleetDeps } from './deps.ts';

export async function sweepDriftChecks(deps: FleetDeps): Promise<string[]> {
  const { database, queue, clock } = deps.provisioning;
  const now = new Date(clock.now());
  const next = new Date(clock.now() + deps.settings.driftIntervalMinutes * 60_000);
  const due = await database.db.execute<{ id: string }>(sql`
    select s.id from servers s left join server_stacks st on st.server_id = s.id
    where s.status = 'ready' and (st.server_id is null or st.next_drift_check_at <= ${now.toISOString()}::timestamptz)
    order by st.next_drift_check_at nulls first limit 200`);
  const ids = [...due].map((r) => r.id);
  for (const id of ids) {
    await database.db.execute(sql`
      insert into server_stacks (server_id, next_drift_check_at) values (${id}, ${next.toISOString()}::timestamptz)
      on conflict (server_id) do update set next_drift_check_at = excluded.next_drift_check_at`);
    await queue.send('fleet.drift_check', { serverId: id }, { singletonKey: id });
  }
  return ids;
}
