/**
 * Periodic per-server work found by an index, not by a scan of its history: `server_schedules`
 * holds when each server's work of one kind is next due. One statement claims up to `limit` due
 * servers and moves each one's time forward by the interval (keeping its rhythm; one that fell
 * behind is next due half an interval from now, not at once again), and their jobs go in one insert. A server seen for the first time
 * is only scheduled, at a random point within the interval, so a fleet (or a deploy of this code)
 * spreads its work instead of firing it all in one minute; its first run of each kind comes with
 * provisioning (the first health run with `ready`, the blacklist check with `check_blacklists`; the
 * mailbox usage, empty on a new server, waits for its turn).
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';

export type ScheduleKind = 'health' | 'blacklists' | 'usage';

export interface DueSweep {
  kind: ScheduleKind;
  /** Servers in these states have the work; others keep their row and are ignored until they return. */
  statuses: readonly string[];
  intervalMinutes: number;
  now: Date;
  /** At most this many queued per sweep (one sweep a minute). */
  limit: number;
}

/** Claims the due servers and moves their next time on; returns the ids to queue now. */
export async function claimDue(db: Db, s: DueSweep): Promise<string[]> {
  const now = s.now.toISOString();
  const interval = `${s.intervalMinutes} minutes`;
  const rows = await db.execute<{ id: string }>(sql`
    with due as (
      select s.id, sc.next_at from servers s
      left join server_schedules sc on sc.server_id = s.id and sc.kind = ${s.kind}
      where s.status in (${sql.join(
        s.statuses.map((x) => sql`${x}`),
        sql`, `,
      )})
        and (sc.next_at is null or sc.next_at <= ${now}::timestamptz)
      order by sc.next_at nulls first
      limit ${s.limit}
    ), moved as (
      insert into server_schedules (server_id, kind, next_at)
      select id, ${s.kind}, case
        when next_at is null then ${now}::timestamptz + random() * ${interval}::interval
        else greatest(next_at + ${interval}::interval, ${now}::timestamptz + ${interval}::interval / 2) end
      from due
      on conflict (server_id, kind) do update set next_at = excluded.next_at
    )
    select id from due where next_at is not null`);
  return [...rows].map((r) => r.id);
}
