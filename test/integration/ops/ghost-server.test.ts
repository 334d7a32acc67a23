/**
 * A ready server whose instance is gone at the provider (deleted behind
 * mailplane's back, or a provider that lost it) does not stay `ready`:
 * reconciliation marks it failed with a reason saying what happened, and the
 * ghost alert stays open for ops on the passes that follow.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../../src/audit.ts';
import { alerts, servers } from '../../../src/db/schema/index.ts';
import { opsDeps } from '../../../src/app-context.ts';
import { reconcile } from '../../../src/ops/reconcile.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
let serverId: string;

beforeAll(async () => {
  h = await startHarness();
  const { token, workspaceId } = await h.customer('ghost-server@example.com');
  ({ serverId } = await h.readyServer(token, workspaceId, 'ghost-server.example'));
}, 180_000);
afterAll(async () => {
  await h?.close();
});

describe('a server whose instance is gone', () => {
  it('is marked failed with the reason by reconciliation, and its ghost alert stays open', async () => {
    const [row] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
    await h.ctx.providers.compute.deleteServer(row!.zone as never, row!.providerServerId!);
    expect(h.sandbox.scaleway!.listServers().some((s) => s.id === row!.providerServerId)).toBe(false);

    const deps = opsDeps(h.ctx);
    const first = await reconcile(deps, { apply: false, actor: SYSTEM_ACTOR });
    expect(first.findings.filter((f) => f.kind === 'ghost' && f.resource === 'server').map((f) => f.serverId)).toEqual([serverId]);
    const [marked] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
    expect(marked!.status).toBe('failed');
    expect(marked!.statusReason).toMatch(/instance .* is gone at the provider/);

    // The next pass still sees the ghost: the alert is not resolved by the server being failed now.
    const second = await reconcile(deps, { apply: false, actor: SYSTEM_ACTOR });
    expect(second.findings.some((f) => f.kind === 'ghost' && f.resource === 'server' && f.serverId === serverId)).toBe(true);
    const open = await h.database.db
      .select()
      .from(alerts)
      .where(and(eq(alerts.kind, 'ghost_resource'), eq(alerts.serverId, serverId), isNull(alerts.resolvedAt)));
    expect(open.length).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
