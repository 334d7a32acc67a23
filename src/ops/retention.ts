/**
 * Blacklist history is kept for a bounded time. Every monitor pass writes one row per address and
 * DNSBL zone (at 10,000 servers, millions a day), and nothing reads old rows but the zone-health
 * check (the last few verdicts of a zone) and the views (the latest verdict of an address): so rows
 * older than the retention are deleted, except the newest verdict of each address and zone, which
 * stays however old it is. Deleted in batches, so no statement holds its locks for long; each batch
 * starts from an index on checked_at (at ~2 M new rows a day, the hourly cleanup deletes about an
 * hour's worth out of 30 days', and without it every batch read the whole table).
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';

const BATCH = 5_000;

/**
 * One batch: rows past the cutoff (found by blacklist_checks_checked_idx, oldest first) that a newer
 * verdict of the same address and zone supersedes (blacklist_checks_address_idx). Exported for the
 * test that PostgreSQL plans it on the indexes at a fleet's size.
 */
export const pruneBatch = (cutoff: Date, limit = BATCH) => sql`
  delete from blacklist_checks where id in (
    select old.id from blacklist_checks old
    where old.checked_at < ${cutoff.toISOString()}::timestamptz
      and exists (select 1 from blacklist_checks newer
                  where newer.address = old.address and newer.zone = old.zone and newer.checked_at > old.checked_at)
    order by old.checked_at
    limit ${limit})
  returning id`;

export async function pruneBlacklistHistory(db: Db, opts: { keepDays: number; now: number }): Promise<number> {
  const cutoff = new Date(opts.now - opts.keepDays * 86_400_000);
  let total = 0;
  for (;;) {
    const deleted = await db.execute<{ id: string }>(pruneBatch(cutoff));
    total += deleted.length;
    if (deleted.length < BATCH) return total;
  }
}
