/** Server lifecycle transitions shared by billing webhooks and GDPR erasure. */
import { eq } from 'drizzle-orm';
import { startRun } from '../../provisioning/engine.ts';
import { audit, type Actor } from '../audit.ts';
import type { Db } from '../db/client.ts';
import { servers } from '../db/schema/index.ts';
import type { RawTx } from '../db/tx.ts';
import type { JobQueue } from '../jobs/queue.ts';

/** Marks the server deprovisioning and starts the deprovision run, in the caller's transaction. */
export async function startDeprovision(
  queue: JobQueue, tx: Db, raw: RawTx, server: { id: string; workspaceId: string }, actor: Actor, reason: string, details: Record<string, unknown> = {},
): Promise<string> {
  await tx.update(servers).set({ status: 'deprovisioning', statusReason: reason, updatedAt: new Date() }).where(eq(servers.id, server.id));
  const runId = await startRun(queue, tx, raw, { serverId: server.id, kind: 'deprovision' });
  await audit(tx, actor, { action: 'server.deprovision', workspaceId: server.workspaceId, target: server.id, details: { runId, reason, ...details } });
  return runId;
}
