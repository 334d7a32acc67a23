/**
 * When each ready server's drift check is due: `server_stacks.next_drift_check_at` (indexed),
 * moved forward by the interval when the check is queued, so a sweep finds due work with one
 * indexed query however large the fleet, and a doubled sweep queues nothing twice (the job's
 * singleton key is the server). A ready server without a row yet (older than drift checks) is due.
 * One statement claims and moves them all, one insert queues their checks: at 10,000 servers an
 * hourly check is ~170 a minute, and a statement and a send per server took the sweep 43 s a minute
 * on a loaded machine (bench/fleet.md).
 *
 * Not `claimDue` (src/jobs/due-sweep.ts), though the shape is alike, because three rules differ:
 * the time lives on the server's stack row (server_stacks, shown as the fleet view's next check),
 * not in server_schedules; a server without a row is checked at once (drift is what a deploy or a
 * server older than the checks most needs to know), where claimDue only schedules a newcomer at a
 * random point of the interval; and the next check is an interval after this sweep, where claimDue
 * keeps each server's rhythm. test/integration/fleet/drift-sweep.test.ts holds the first two.
 */
import { sql } from 'drizzle-orm';
import type { FleetDeps } from './deps.ts';

/** At most this many queued a minute: 10,000 servers every hour need about 170. */
export const DRIFT_SWEEP_LIMIT = 1_000;

export async function sweepDriftChecks(deps: FleetDeps, limit = DRIFT_SWEEP_LIMIT): Promise<string[]> {
  const { database, queue, clock } = deps.provisioning;
  const now = new Date(clock.now());
  const next = new Date(clock.now() + deps.settings.driftIntervalMinutes * 60_000);
  const due = await database.db.execute<{ id: string }>(sql`
    with due as (
      select s.id from servers s left join server_stacks st on st.server_id = s.id
      where s.status = 'ready' and (st.server_id is null or st.next_drift_check_at <= ${now.toISOString()}::timestamptz)
      order by st.next_drift_check_at nulls first limit ${limit}
    )
    insert into server_stacks (server_id, next_drift_check_at) select id, ${next.toISOString()}::timestamptz from due
    on conflict (server_id) do update set next_drift_check_at = excluded.next_drift_check_at
    returning server_id as id`);
  const ids = [...due].map((r) => r.id);
  await queue.sendMany(
    'fleet.drift_check',
    ids.map((serverId) => ({ data: { serverId }, singletonKey: serverId })),
  );
  return ids;
}
