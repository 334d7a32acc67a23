/**
 * Periodic per-server work found through server_schedules (src/jobs/due-sweep.ts), on the real
 * test database: first sight only schedules (spread over the interval), a due server is claimed
 * once and moved on by the interval keeping its rhythm, one that fell behind is due again half an
 * interval from now, servers in other states are left alone, and a sweep takes at most its limit.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers, serverSchedules, workspaces } from '../../../src/db/schema/index.ts';
import { claimDue, type DueSweep } from '../../../src/jobs/due-sweep.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

let db: TestDatabase;
let workspaceId: string;
const T0 = new Date('2026-12-07T12:00:00Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);
const sweep = (now: Date, over: Partial<DueSweep> = {}) =>
  claimDue(db.db, { kind: 'health', statuses: ['ready'], intervalMinutes: 60, now, limit: 1000, ...over });
const nextAt = async (ids: string[], kind: 'health' | 'blacklists' = 'health') =>
  new Map(
    (
      await db.db
        .select()
        .from(serverSchedules)
        .where(and(inArray(serverSchedules.serverId, ids), eq(serverSchedules.kind, kind)))
    ).map((r) => [r.serverId, r.nextAt.getTime()]),
  );

async function newServers(n: number, status: 'ready' | 'provisioning' = 'ready'): Promise<string[]> {
  const rows = await db.db
    .insert(servers)
    .values(
      Array.from({ length: n }, (_, i) => ({
        workspaceId,
        planId: 'starter',
        zone: 'fr-par-1',
        domain: `d${i}-${Math.random().toString(36).slice(2, 8)}.example`,
        hostname: `mail.d${i}.example`,
        status,
      })),
    )
    .returning({ id: servers.id });
  return rows.map((r) => r.id);
}

beforeAll(async () => {
  db = await createTestDatabase();
  const [ws] = await db.db.insert(workspaces).values({ name: 'schedules' }).returning();
  workspaceId = ws!.id;
});
afterAll(async () => db?.close());

describe('due work from server_schedules', () => {
  it('schedules servers it sees for the first time across the interval, without queuing them', async () => {
    const ids = await newServers(300);
    expect(await sweep(T0)).toEqual([]);
    const at = [...(await nextAt(ids)).values()];
    expect(at).toHaveLength(300);
    expect(Math.min(...at)).toBeGreaterThanOrEqual(T0.getTime());
    expect(Math.max(...at)).toBeLessThan(minutes(60).getTime());
    // Spread: every quarter of the interval holds some, none holds most (300 uniform draws).
    const quarters = [0, 1, 2, 3].map((q) => at.filter((t) => t >= minutes(15 * q).getTime() && t < minutes(15 * (q + 1)).getTime()).length);
    for (const n of quarters) expect(n).toBeGreaterThan(30);
    for (const n of quarters) expect(n).toBeLessThan(150);
    // Each is claimed once in the hour, at its own time, and moved on by exactly the interval.
    const before = await nextAt(ids);
    const claimed: string[] = [];
    for (let m = 1; m <= 60; m++) claimed.push(...(await sweep(minutes(m))));
    expect(claimed.sort()).toEqual([...ids].sort());
    const after = await nextAt(ids);
    for (const id of ids) expect(after.get(id)! - before.get(id)!).toBe(60 * 60_000);
    await db.db.delete(servers).where(inArray(servers.id, ids));
  });

  it('gives a server that fell behind half an interval from now, leaves other states alone, and takes at most its limit', async () => {
    const [late] = await newServers(1);
    const waiting = await newServers(2, 'provisioning');
    await db.db.insert(serverSchedules).values([late!, ...waiting].map((serverId) => ({ serverId, kind: 'health' as const, nextAt: minutes(-300) })));
    expect(await sweep(T0)).toEqual([late]);
    // Five hours late: not due again at once (next_at + interval would still be in the past), but half an interval from now.
    expect((await nextAt([late!])).get(late!)).toBe(minutes(30).getTime());
    expect(await sweep(T0)).toEqual([]);
    // Another kind has its own time.
    expect(await sweep(T0, { kind: 'blacklists' })).toEqual([]);
    expect((await nextAt([late!], 'blacklists')).size).toBe(1);

    const many = await newServers(5);
    await db.db.insert(serverSchedules).values(many.map((serverId) => ({ serverId, kind: 'health' as const, nextAt: minutes(-1) })));
    expect(await sweep(T0, { limit: 3 })).toHaveLength(3);
    expect(await sweep(T0, { limit: 3 })).toHaveLength(2);
  });
});
