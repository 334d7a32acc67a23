/**
 * Blacklist history retention: verdicts older than the retention go, the newest verdict of each
 * address and zone stays however old, each batch is found by an index at a fleet's size, and
 * pg-boss deletes finished jobs after a day.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blacklistChecks } from '../../../src/db/schema/index.ts';
import { JOB_CATALOG, type JobName } from '../../../src/jobs/catalog.ts';
import { JobQueue } from '../../../src/jobs/queue.ts';
import { createLogger } from '../../../src/log.ts';
import { pruneBatch, pruneBlacklistHistory } from '../../../src/ops/retention.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => database?.close());

const NOW = Date.parse('2026-12-07T12:00:00Z');
const daysAgo = (d: number) => new Date(NOW - d * 86_400_000);

describe('blacklist history retention', () => {
  it('deletes verdicts past the retention but keeps the newest of each address and zone', async () => {
    const rows = [
      // 192.0.2.10 on zen: checked daily for 40 days; only the last 30 days stay.
      ...Array.from({ length: 40 }, (_, i) => ({ address: '192.0.2.10', zone: 'zen.spamhaus.org', status: 'clean' as const, checkedAt: daysAgo(i) })),
      // 192.0.2.10 on another zone, last checked 60 days ago (a zone since removed): its newest verdict stays.
      { address: '192.0.2.10', zone: 'old.example', status: 'listed' as const, checkedAt: daysAgo(60) },
      { address: '192.0.2.10', zone: 'old.example', status: 'clean' as const, checkedAt: daysAgo(61) },
      // A released address checked once, long ago.
      { address: '192.0.2.99', zone: 'zen.spamhaus.org', status: 'clean' as const, checkedAt: daysAgo(90) },
    ];
    await database.db.insert(blacklistChecks).values(rows);
    const deleted = await pruneBlacklistHistory(database.db, { keepDays: 30, now: NOW });
    const left = await database.db.select().from(blacklistChecks);
    const key = (r: { address: string; zone: string }) => `${r.address} ${r.zone}`;
    const count = (k: string) => left.filter((r) => key(r) === k).length;
    expect(count('192.0.2.10 zen.spamhaus.org')).toBe(31); // days 0..30: the cut is "older than 30 days"
    expect(left.filter((r) => key(r) === '192.0.2.10 old.example').map((r) => r.status)).toEqual(['listed']);
    expect(count('192.0.2.99 zen.spamhaus.org')).toBe(1);
    expect(deleted).toBe(rows.length - left.length);
    // A second pass finds nothing more to delete.
    expect(await pruneBlacklistHistory(database.db, { keepDays: 30, now: NOW })).toBe(0);
  });
});

describe('retention at fleet scale', () => {
  it('finds each batch of old verdicts through indexes, never by reading the whole history', async () => {
    await database.db.execute(sql`truncate blacklist_checks`);
    // 1,000 addresses × 4 zones checked every 6 hours for 30 days and a bit (~244,000 rows), the
    // steady state of the hourly cleanup: a sliver of rows just past the cutoff.
    await database.db.execute(sql`
      insert into blacklist_checks (address, zone, status, checked_at)
      select '100.64.' || (a / 256) || '.' || (a % 256), z, 'clean', ${new Date(NOW).toISOString()}::timestamptz - h * interval '6 hours'
      from generate_series(0, 999) a, unnest(array['a.example', 'b.example', 'c.example', 'd.example']) z, generate_series(0, 121) h`);
    await database.db.execute(sql`analyze blacklist_checks`);
    const [plan] = await database.db.execute<{ 'QUERY PLAN': unknown }>(sql`explain (format json) ${pruneBatch(daysAgo(30))}`);
    const text = JSON.stringify(plan!['QUERY PLAN']);
    expect(text).toContain('blacklist_checks_checked_idx');
    expect(text).not.toContain('Seq Scan');
    expect(await pruneBlacklistHistory(database.db, { keepDays: 30, now: NOW })).toBe(1000 * 4);
  }, 120_000);
});

describe('finished jobs', () => {
  it('are kept a day by every queue, then deleted by pg-boss', async () => {
    const log = createLogger({ level: 'silent', pretty: false, destination: { write: () => {} } });
    const queue = await JobQueue.start({ url: database.url, log, worker: false });
    try {
      for (const name of Object.keys(JOB_CATALOG) as JobName[]) expect((await queue.boss.getQueue(name))?.deleteAfterSeconds, name).toBe(86_400);
      const boss = queue.boss;
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        await queue.send('maintenance.cleanup', {});
        const [job] = await boss.fetch('maintenance.cleanup');
        await boss.complete('maintenance.cleanup', job!.id);
        ids.push(job!.id);
      }
      // One finished 25 hours ago, one 23 hours ago.
      await database.db.execute(sql`update pgboss.job set completed_on = now() - interval '25 hours' where id = ${ids[0]}`);
      await database.db.execute(sql`update pgboss.job set completed_on = now() - interval '23 hours' where id = ${ids[1]}`);
      await boss.supervise('maintenance.cleanup');
      const left = await database.db.execute<{ id: string }>(sql`select id from pgboss.job where id in (${ids[0]}, ${ids[1]})`);
      expect([...left].map((r) => r.id)).toEqual([ids[1]]);
    } finally {
      await queue.stop();
    }
  });
});
