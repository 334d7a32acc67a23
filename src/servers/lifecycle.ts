/** Server lifecycle transitions shared by billing webhooks and GDPR erasure. */
import { startRun } from '../../provisioning/engine.ts';
import { audit, type Actor } from '../audit.ts';
import type { Clock } from '../clock.ts';
import type { DbOrTx, Tx } from '../db/client.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { moveServer } from './status.ts';

/** Marks the server deprovisioning and starts the deprovision run, in the caller's transaction. */
export async function startDeprovision(
  deps: { queue: JobQueue; clock: Clock },
  tx: Tx,
  server: { id: string; workspaceId: string },
  actor: Actor,
  reason: string,
  details: Record<string, unknown> = {},
): Promise<string> {
  await moveServer(tx, server.id, 'deprovision', { reason, now: new Date(deps.clock.now()) });
  const runId = await startRun(deps.queue, tx, { serverId: server.id, kind: 'deprovision' });
  await audit(tx, actor, { action: 'server.deprovision', workspaceId: server.workspaceId, target: server.id, details: { runId, reason, ...details } });
  return runId;
}

/**
 * ready → suspended: the server keeps running (mail still arrives) and keeps its data, but
 * mailbox changes, webmail and health runs stop until it is reinstated. Only a ready server is
 * suspended; returns whether this call did it (false: it was not ready, nothing changed).
 */
export async function suspendServer(
  deps: { clock: Clock },
  tx: DbOrTx,
  server: { id: string; workspaceId: string },
  actor: Actor,
  reason: string,
  details: Record<string, unknown> = {},
): Promise<boolean> {
  if (!(await moveServer(tx, server.id, 'suspend', { reason, now: new Date(deps.clock.now()) }))) return false;
  await audit(tx, actor, { action: 'server.suspend', workspaceId: server.workspaceId, target: server.id, details: { reason, ...details } });
  return true;
}

/** suspended → ready, the one way back from a suspension; returns whether this call did it. */
export async function reinstateServer(
  deps: { clock: Clock },
  tx: DbOrTx,
  server: { id: string; workspaceId: string },
  actor: Actor,
  details: Record<string, unknown> = {},
): Promise<boolean> {
  if (!(await moveServer(tx, server.id, 'reinstate', { now: new Date(deps.clock.now()) }))) return false;
  await audit(tx, actor, { action: 'server.reinstate', workspaceId: server.workspaceId, target: server.id, details });
  return true;
}
