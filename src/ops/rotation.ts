/**
 * Starting the rotation of a live server's IP: a durable `rotate_ip` run
 * (provisioning/plan.ts) created in one transaction with its first job and the
 * audit entry. The server row is locked so two requests (an operator and the
 * auto-rotation policy) cannot start two runs for one server.
 */
import { and, eq, ne } from 'drizzle-orm';
import { startRun } from '../../provisioning/engine.ts';
import type { RotationParams } from '../../provisioning/steps/rotate-common.ts';
import { canonicalAddress } from '../../provisioning/steps/rotate-repoint.ts';
import { audit, type Actor } from '../audit.ts';
import type { Database } from '../db/client.ts';
import { provisioningRuns, serverIps, servers } from '../db/schema/index.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';

export async function startIpRotation(
  deps: { database: Database; queue: JobQueue },
  actor: Actor,
  input: { serverId: string; address: string; reason: string },
): Promise<{ runId: string; address: string }> {
  let wanted: string;
  try {
    wanted = canonicalAddress(input.address);
  } catch {
    throw new ValidationError(`"${input.address}" is not an IP address`);
  }
  return deps.database.db.transaction(async (tx) => {
    const [server] = await tx.select().from(servers).where(eq(servers.id, input.serverId)).for('update');
    if (!server) throw new NotFoundError('Server');
    // Only a settled, serving server: a provisioning run rotates listed IPs itself, and the
    // engine marks the server ready when the rotation run succeeds.
    if (server.status !== 'ready') throw new ConflictError(`The server is ${server.status}; only a ready server's IP can be rotated`, 'server_not_ready');
    const [running] = await tx
      .select({ id: provisioningRuns.id, kind: provisioningRuns.kind })
      .from(provisioningRuns)
      .where(and(eq(provisioningRuns.serverId, server.id), eq(provisioningRuns.status, 'running')))
      .limit(1);
    if (running) throw new ConflictError(`A ${running.kind} run (${running.id}) is in progress for this server`, 'run_in_progress');
    const ips = await tx
      .select()
      .from(serverIps)
      .where(and(eq(serverIps.serverId, server.id), ne(serverIps.state, 'released')));
    const ip = ips.find((r) => canonicalAddress(r.address) === wanted);
    if (!ip) throw new NotFoundError(`IP ${input.address} of this server`);
    if (ip.state !== 'active') throw new ConflictError(`${ip.address} is ${ip.state}, not in use`, 'ip_not_active');
    const params: RotationParams = { ipId: ip.id, address: ip.address, family: ip.family, reason: input.reason };
    const runId = await startRun(deps.queue, tx, { serverId: server.id, kind: 'rotate_ip', params });
    await audit(tx, actor, {
      action: 'server.rotate_ip',
      workspaceId: server.workspaceId,
      target: server.id,
      details: { runId, address: ip.address, reason: input.reason },
    });
    return { runId, address: ip.address };
  });
}
