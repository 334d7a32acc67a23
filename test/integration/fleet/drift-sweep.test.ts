/**
 * The drift sweep (src/fleet/schedule.ts) on the real test database and a real pg-boss: one call
 * claims every ready server whose check is due (up to its limit), moves each one's next check an
 * interval on and queues the checks; a doubled sweep queues nothing; other states are left alone.
 */
import { inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers, serverStacks, workspaces } from '../../../src/db/schema/index.ts';
import type { FleetDeps } from '../../../src/fleet/deps.ts';
import { sweepDriftChecks } from '../../../src/fleet/schedule.ts';
import { JobQueue } from '../../../src/jobs/queue.ts';
import { createLogger } from '../../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

let database: TestDatabase;
let queue: JobQueue;
const log = createLogger({ level: 'silent', pretty: false, destination: { write: () => {} } });
const T0 = Date.parse('2026-12-07T12:00:00Z');

beforeAll(async () => {
  database = await createTestDatabase();
  queue = await JobQueue.start({ url: database.url, log, worker: false });
});
afterAll(async () => {
  await queue?.stop();
  await database?.close();
});

const depsAt = (ms: number) =>
  ({
    provisioning: { database, queue, clock: { now: () => ms, sleep: async () => {} } },
    settings: { driftIntervalMinutes: 60 },
  }) as unknown as FleetDeps;
const queued = async () =>
  [
    ...(await database.db.execute<{ server: string }>(sql`
  select data->>'serverId' as server from pgboss.job where name = 'fleet.drift_check'`)),
  ].map((r) => r.server);

describe('drift check sweep', () => {
  it('queues every due ready server in one sweep, moves each on by the interval, and queues nothing twice', async () => {
    const [ws] = await database.db.insert(workspaces).values({ name: 'drift' }).returning();
    const made = await database.db
      .insert(servers)
      .values(
        Array.from({ length: 301 }, (_, i) => ({
          workspaceId: ws!.id,
          planId: 'starter',
          zone: 'fr-par-1',
          domain: `d${i}.example`,
          hostname: `mail.d${i}.example`,
          status: i < 300 ? ('ready' as const) : ('provisioning' as const),
        })),
      )
      .returning({ id: servers.id, status: servers.status });
    const ready = made.filter((s) => s.status === 'ready').map((s) => s.id);

    const first = await sweepDriftChecks(depsAt(T0));
    expect(first.sort()).toEqual([...ready].sort());
    expect((await queued()).sort()).toEqual([...ready].sort());
    const stacks = await database.db.select().from(serverStacks).where(inArray(serverStacks.serverId, ready));
    expect(stacks.every((s) => s.nextDriftCheckAt.getTime() === T0 + 3_600_000)).toBe(true);
    // Not due again before its time; due again an interval later, at most `limit` a sweep.
    expect(await sweepDriftChecks(depsAt(T0 + 59 * 60_000))).toEqual([]);
    expect(await sweepDriftChecks(depsAt(T0 + 3_600_000), 100)).toHaveLength(100);
  });
});
