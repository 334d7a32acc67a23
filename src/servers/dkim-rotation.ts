/**
 * Starting a DKIM rotation (provisioning/plan.ts, `rotate_dkim`): scheduled by the DKIM sweep every
 * DKIM_ROTATION_DAYS, or now, by the owner, an admin, support or ops. An emergency rotation (a
 * leaked key) revokes the current key's records at once instead of keeping them for mail in flight.
 * The server stays `ready` and keeps signing with its current key until the new one is visible.
 */
import { and, eq } from 'drizzle-orm';
import { startRun } from '../../provisioning/engine.ts';
import type { RotateDkimParams } from '../../provisioning/steps/rotate-dkim.ts';
import { audit, type Actor } from '../audit.ts';
import type { Database } from '../db/client.ts';
import { dkimKeys, provisioningRuns, servers } from '../db/schema/index.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';

export async function startDkimRotation(
  deps: { database: Database; queue: JobQueue },
  actor: Actor,
  input: { serverId: string; reason: string; emergency: boolean },
): Promise<{ runId: string }> {
  return deps.database.db.transaction(async (tx) => {
    const [server] = await tx.select().from(servers).where(eq(servers.id, input.serverId)).for('update');
    if (!server) throw new NotFoundError('Server');
    if (server.status !== 'ready') throw new ConflictError(`The server is ${server.status}; DKIM keys rotate on a ready server`, 'server_not_ready');
    const [running] = await tx
      .select({ id: provisioningRuns.id, kind: provisioningRuns.kind })
      .from(provisioningRuns)
      .where(and(eq(provisioningRuns.serverId, server.id), eq(provisioningRuns.status, 'running')))
      .limit(1);
    if (running) throw new ConflictError(`A ${running.kind} run (${running.id}) is in progress for this server`, 'run_in_progress');
    const [active] = await tx
      .select({ selector: dkimKeys.selector })
      .from(dkimKeys)
      .where(and(eq(dkimKeys.serverId, server.id), eq(dkimKeys.domain, server.domain), eq(dkimKeys.state, 'active')));
    if (!active || !server.dnsZoneId) throw new ConflictError('The server has no DKIM key published yet', 'no_dkim_key');
    const params: RotateDkimParams = { reason: input.reason, emergency: input.emergency };
    const runId = await startRun(deps.queue, tx, { serverId: server.id, kind: 'rotate_dkim', params: { ...params } });
    await audit(tx, actor, {
      action: input.emergency ? 'dkim.emergency_rotation' : 'dkim.rotation',
      workspaceId: server.workspaceId,
      target: server.id,
      details: { runId, reason: input.reason, current: active.selector },
    });
    return { runId };
  });
}
