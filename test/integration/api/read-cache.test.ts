/**
 * The API's per-process read cache (src/api/read-cache.ts) never answers with what is no longer
 * true: every way a cached answer could go wrong (a revoked session, a removed role, an erased
 * workspace, a step finishing, a status changed by another writer) is written straight to
 * PostgreSQL, as another process would write it, and the next answers change without the
 * cache's TTL running out (it is set to five minutes here).
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberships, provisioningRuns, provisioningSteps, servers, sessions, workspaces } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;

beforeAll(async () => {
  // Workers off: the run stays as the webhook queued it until the test moves it.
  h = await startHarness({ workers: false, env: { API_READ_CACHE_SECONDS: '300' } });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

/** Statements the product's pool sends while `work` runs (drizzle sends every query through `unsafe`). */
async function statementsDuring(work: () => Promise<unknown>): Promise<number> {
  const sql = h.ctx.database.sql;
  const original = sql.unsafe;
  let count = 0;
  sql.unsafe = ((...args: Parameters<typeof original>) => {
    count++;
    return original.apply(sql, args);
  }) as typeof original;
  try {
    await work();
  } finally {
    sql.unsafe = original;
  }
  return count;
}

/** Asks again until `done` holds; the deadline is far below the cache's TTL, so only an eviction can end it. */
async function answersUntil(get: () => Promise<{ status: number; body: any }>, done: (res: { status: number; body: any }) => boolean) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await get();
    if (done(res)) return res;
    if (Date.now() > deadline) throw new Error(`still ${res.status} ${JSON.stringify(res.body).slice(0, 300)} after 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the read cache behind GET /v1/workspaces/{ws}/servers/{id}', () => {
  let owner: { token: string; workspaceId: string; userId: string };
  let serverId: string;
  let path: string;
  const get = (token = owner.token) => h.call('GET', path, { token });

  beforeAll(async () => {
    const c = await h.customer('cache-owner@example.com');
    const me = await h.call('GET', '/v1/me', { token: c.token });
    owner = { ...c, userId: me.body.user.id };
    ({ serverId } = await h.subscribe(owner.token, owner.workspaceId, 'cache-owner-mail.example'));
    path = `/v1/workspaces/${owner.workspaceId}/servers/${serverId}`;
  });

  it('answers a repeated read from memory, with no statement sent to PostgreSQL', async () => {
    expect((await get()).status).toBe(200);
    let second: { status: number; body: any } | undefined;
    expect(
      await statementsDuring(async () => {
        second = await get();
      }),
    ).toBe(0);
    expect(second!.status).toBe(200);
    expect(second!.body.id).toBe(serverId);
  });

  it('shows a step finishing, written by a worker elsewhere', async () => {
    const before = await get();
    const step = before.body.steps.find((s: { status: string }) => s.status === 'queued');
    expect(step).toBeDefined();
    const [run] = await h.database.db.select({ id: provisioningRuns.id }).from(provisioningRuns).where(eq(provisioningRuns.serverId, serverId));
    await h.database.db
      .update(provisioningSteps)
      .set({ status: 'succeeded', finishedAt: new Date() })
      .where(and(eq(provisioningSteps.runId, run!.id), eq(provisioningSteps.name, step.name)));
    const after = await answersUntil(get, (res) => res.body.steps?.find((s: { name: string }) => s.name === step.name)?.status === 'succeeded');
    expect(after.status).toBe(200);
  });

  it('shows a status changed by another writer (a suspension)', async () => {
    expect((await get()).body.status).not.toBe('suspended');
    await h.database.db.update(servers).set({ status: 'suspended', statusReason: 'unpaid' }).where(eq(servers.id, serverId));
    await answersUntil(get, (res) => res.body.status === 'suspended');
  });

  it('forgets a member whose role was removed', async () => {
    const member = await h.customer('cache-member@example.com');
    const me = await h.call('GET', '/v1/me', { token: member.token });
    await h.database.db.insert(memberships).values({ workspaceId: owner.workspaceId, userId: me.body.user.id, role: 'member' });
    expect((await get(member.token)).status).toBe(200);
    expect((await get(member.token)).status).toBe(200);
    await h.database.db.delete(memberships).where(and(eq(memberships.workspaceId, owner.workspaceId), eq(memberships.userId, me.body.user.id)));
    await answersUntil(
      () => get(member.token),
      (res) => res.status === 404,
    );
  });

  it('stops serving a session revoked by another process', async () => {
    const other = await h.login('cache-owner@example.com');
    expect((await get(other)).status).toBe(200);
    expect((await get(other)).status).toBe(200);
    const [row] = await h.database.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, owner.userId));
    await h.database.db.update(sessions).set({ revokedAt: new Date() }).where(eq(sessions.userId, owner.userId));
    expect(row).toBeDefined();
    await answersUntil(
      () => get(other),
      (res) => res.status === 401,
    );
  });

  it('answers 404 once the workspace is being erased', async () => {
    const fresh = await h.login('cache-owner@example.com');
    expect((await get(fresh)).status).toBe(200);
    expect((await get(fresh)).status).toBe(200);
    await h.database.db.update(workspaces).set({ erasureRequestedAt: new Date() }).where(eq(workspaces.id, owner.workspaceId));
    await answersUntil(
      () => get(fresh),
      (res) => res.status === 404,
    );
  });
});
