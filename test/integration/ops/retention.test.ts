/**
 * Blacklist history retention: verdicts older than the retention go, the newest verdict of each
 * address and zone stays however old, and pg-boss keeps finished jobs a day.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blacklistChecks } from '../../../src/db/schema/index.ts';
import { pruneBlacklistHistory } from '../../../src/ops/retention.ts';
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
