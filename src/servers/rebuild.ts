/**
 * Starting a rebuild: the server comes back on a new instance with the same IPs, the
 * same keys from the vault and its mail from the latest backup (provisioning/plan.ts,
 * `rebuild`). For a server that was lost, or one that is failing, and for support and
 * ops as much as for the owner. The instance to retire is fixed here, in the run's
 * params, so no re-run of a step can delete the new one (rebuild-retire.ts).
 */
import { and, eq } from 'drizzle-orm';
import { startRun } from '../../provisioning/engine.ts';
import type { RebuildParams } from '../../provisioning/steps/rebuild-retire.ts';
import { audit, type Actor } from '../audit.ts';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/client.ts';
import { provisioningRuns, servers } from '../db/schema/index.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { moveServer } from './status.ts';

/** A rebuild replaces a serving or a broken server; one being created, suspended or removed is not rebuilt. */
const REBUILDABLE = ['ready', 'failed'] as const;

export async function startRebuild(
  deps: { database: Database; queue: JobQueue; clock: Clock },
  actor: Actor,
  input: { serverId: string; reason: string },
): Promise<{ runId: string }> {
  return deps.database.db.transaction(async (tx) => {
    const [server] = await tx.select().from(servers).where(eq(servers.id, input.serverId)).for('update');
    if (!server) throw new NotFoundError('Server');
    if (!(REBUILDABLE as readonly string[]).includes(server.status)) {
      throw new ConflictError(`The server is ${server.status}; only a ready or failed server can be rebuilt`, 'server_not_rebuildable');
    }
    const [running] = await tx
      .select({ id: provisioningRuns.id, kind: provisioningRuns.kind })
      .from(provisioningRuns)
      .where(and(eq(provisioningRuns.serverId, server.id), eq(provisioningRuns.status, 'running')))
      .limit(1);
    if (running) throw new ConflictError(`A ${running.kind} run (${running.id}) is in progress for this server`, 'run_in_progress');
    // A server whose first provisioning never finished served no mail and has no backup: a rebuild
    // would bring back nothing. Its provisioning is what to resume (or re-run per step).
    const [provisioned] = await tx
      .select({ id: provisioningRuns.id })
      .from(provisioningRuns)
      .where(and(eq(provisioningRuns.serverId, server.id), eq(provisioningRuns.kind, 'provision'), eq(provisioningRuns.status, 'succeeded')))
      .limit(1);
    if (!provisioned || !server.ipv4 || !server.sshHostKeyFingerprint) {
      throw new ConflictError(
        'The server never became ready, so it has no backup and nothing to rebuild: resume or re-run its provisioning instead',
        'server_never_ready',
      );
    }
    const params: RebuildParams = { retireInstanceId: server.providerServerId, reason: input.reason };
    await moveServer(tx, server.id, 'build', { reason: `Rebuilding: ${input.reason}`, now: new Date(deps.clock.now()) });
    const runId = await startRun(deps.queue, tx, { serverId: server.id, kind: 'rebuild', params: params as unknown as Record<string, unknown> });
    await audit(tx, actor, {
      action: 'server.rebuild',
      workspaceId: server.workspaceId,
      target: server.id,
      details: { runId, reason: input.reason, retiredInstance: server.providerServerId },
    });
    return { runId };
  });
}
