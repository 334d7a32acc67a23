/**
 * Starting a TLS key rollover (provisioning/plan.ts, `roll_tls_key`): support or ops, when the key
 * behind the TLSA record must change (a compromise, an algorithm change). Renewals keep the key, so
 * this is the only way it changes; the server stays `ready` and serves its current key until the
 * TLSA records of both keys have been published long enough.
 */
import { and, eq } from 'drizzle-orm';
import { startRun } from '../../provisioning/engine.ts';
import type { RollTlsKeyParams } from '../../provisioning/steps/roll-tls-key.ts';
import { audit, type Actor } from '../audit.ts';
import type { Database } from '../db/client.ts';
import { provisioningRuns, servers } from '../db/schema/index.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';

export async function startTlsRollover(
  deps: { database: Database; queue: JobQueue },
  actor: Actor,
  input: { serverId: string; reason: string; keyType: RollTlsKeyParams['keyType'] },
): Promise<{ runId: string }> {
  return deps.database.db.transaction(async (tx) => {
    const [server] = await tx.select().from(servers).where(eq(servers.id, input.serverId)).for('update');
    if (!server) throw new NotFoundError('Server');
    if (server.status !== 'ready') throw new ConflictError(`The server is ${server.status}; a TLS key rolls over on a ready server`, 'server_not_ready');
    const [running] = await tx
      .select({ id: provisioningRuns.id, kind: provisioningRuns.kind })
      .from(provisioningRuns)
      .where(and(eq(provisioningRuns.serverId, server.id), eq(provisioningRuns.status, 'running')))
      .limit(1);
    if (running) throw new ConflictError(`A ${running.kind} run (${running.id}) is in progress for this server`, 'run_in_progress');
    if (!server.tlsSpkiSha256) throw new ConflictError('The server has no TLS certificate yet', 'no_tls_key');
    const params: RollTlsKeyParams = { reason: input.reason, keyType: input.keyType };
    const runId = await startRun(deps.queue, tx, { serverId: server.id, kind: 'roll_tls_key', params: { ...params } });
    await audit(tx, actor, {
      action: 'tls.rollover',
      workspaceId: server.workspaceId,
      target: server.id,
      details: { runId, ...params, current: server.tlsSpkiSha256 },
    });
    return { runId };
  });
}
