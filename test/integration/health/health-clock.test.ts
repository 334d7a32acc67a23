/**
 * The health sweep as the composition root builds it runs on the context's clock, as every other
 * sweep does: due runs are found at the clock's time (a simulated or test clock), not the wall's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers, serverSchedules, workspaces } from '../../../src/db/schema/index.ts';
import { sweepHealth } from '../../../src/health/sweep.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

// A day ahead of the wall clock: only a sweep that reads the context's clock finds the run due.
const NOW = Date.now() + 24 * 3600_000;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ workers: false, clock: { now: () => NOW, sleep: async () => {} } });
});
afterAll(async () => h?.close());

describe('the health sweep of the app context', () => {
  it('claims the runs due at the context clock’s time', async () => {
    const [ws] = await h.database.db.insert(workspaces).values({ name: 'clock' }).returning();
    const [server] = await h.database.db
      .insert(servers)
      .values({
        workspaceId: ws!.id,
        planId: 'starter',
        zone: 'fr-par-1',
        domain: 'clock.example',
        hostname: 'mail.clock.example',
        status: 'ready',
      })
      .returning();
    await h.database.db.insert(serverSchedules).values({ serverId: server!.id, kind: 'health', nextAt: new Date(NOW - 60_000) });
    expect(await sweepHealth(h.ctx.health, h.ctx.queue)).toBe(1);
    expect(h.ctx.health.now?.().getTime()).toBe(NOW);
  });
});
