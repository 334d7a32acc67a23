/**
 * Blacklist history is kept for a bounded time. Every monitor pass writes one row per address and
 * DNSBL zone (at 10,000 servers, millions a day), and nothing reads old rows but the zone-health
 * check (the last few verdicts of a zone) and the views (the latest verdict of an address): so rows
 * older than the retention are deleted, except the newest verdict of each address and zone, which
 * stays however old it is. Deleted in batches, so no statement holds its locks for long.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';

const BATCH = 5_000;

export async function pruneBlacklistHistory(db: Db, opts: { keepDays: number; now: number }): Promise<number> {
  const cutoff = new Date(opts.now - opts.keepDays * 86_400_000);
  let total = 0;
  for (;;) {
    const deleted = await db.execute<{ id: string }>(sql`
      delete from blacklist_checks where id in (
        select old.id from blacklist_checks old
        where old.checked_at < ${cutoff.toISOString()}::timestamptz
          and exists (select 1 from blacklist_checks newer
                      where newer.address = old.address and newer.zone = old.zone and newer.checked_at > old.checked_at)
        limit ${BATCH})
      returning id`);
    total += deleted.length;
    if (deleted.length < BATCH) return total;
  }
}
