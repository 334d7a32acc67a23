/**
 * The mailbox usage sweep (src/mailboxes/usage.ts) on the real test database and a real pg-boss:
 * each ready server is collected once per 15 minutes at its own point of the interval, found through
 * server_schedules and queued in batches, instead of the whole fleet queued in one minute.
 */
import { inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers, workspaces } from '../../../src/db/schema/index.ts';
import { JobQueue } from '../../../src/jobs/queue.ts';
import { createLogger } from '../../../src/log.ts';
import { queueUsageCollections, USAGE_INTERVAL_MINUTES } from '../../../src/mailboxes/usage.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

let database: TestDatabase;
let queue: JobQueue;
const log = createLogger({ level: 'silent', pretty: false, destination: { write: () => {} } });
const T0 = Date.parse('2026-12-07T12:00:00Z');

beforeAll(async () => {
  database = await createTestDatabase();
  // Enqueue only: the test reads the queued jobs, no worker takes them.
  queue = await JobQueue.start({ url: database.url, log, worker: false });
});
afterAll(async () => {
  await queue?.stop();
  await database?.close();
});

const sweepAt = (ms: number) => queueUsageCollections({ database, queue, clock: { now: () => ms, sleep: async () => {} } });

describe('mailbox usage collection', () => {
  it('collects every ready server once per interval, spread over it, and no server in another state', async () => {
    const [ws] = await database.db.insert(workspaces).values({ name: 'usage' }).returning();
    const made = await database.db
      .insert(servers)
      .values(
        Array.from({ length: 302 }, (_, i) => ({
          workspaceId: ws!.id,
          planId: 'starter',
          zone: 'fr-par-1',
          domain: `u${i}.example`,
          hostname: `mail.u${i}.example`,
          status: i < 300 ? ('ready' as const) : ('provisioning' as const),
        })),
      )
      .returning({ id: servers.id, status: servers.status });
    const ready = made.filter((s) => s.status === 'ready').map((s) => s.id);

    // First sight: each server gets its point within the interval; nothing is queued at once.
    expect(await sweepAt(T0)).toBe(0);
    const perMinute: number[] = [];
    for (let m = 1; m <= USAGE_INTERVAL_MINUTES; m++) perMinute.push(await sweepAt(T0 + m * 60_000));

    const jobs = await database.db.execute<{ server: string; n: number }>(sql`
      select data->>'serverId' as server, count(*)::int as n from pgboss.job where name = 'mailboxes.collect_usage' group by 1`);
    const counts = new Map([...jobs].map((r) => [r.server, r.n]));
    expect([...counts.keys()].sort()).toEqual([...ready].sort());
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // Spread: no minute takes more than a small share of the fleet (300 uniform draws over 15 minutes: about 20 a minute).
    expect(perMinute.reduce((a, b) => a + b, 0)).toBe(300);
    expect(Math.max(...perMinute)).toBeLessThan(60);
    await database.db.delete(servers).where(
      inArray(
        servers.id,
        made.map((s) => s.id),
      ),
    );
  });
});
