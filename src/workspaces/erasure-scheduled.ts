/**
 * A workspace whose erasure waits out its grace period (src/gdpr/erasure-grace.ts) takes nothing
 * new: paying for another server there would be charged for a server erased within the day.
 */
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.ts';
import { workspaces } from '../db/schema/index.ts';
import { AppError } from '../errors.ts';

export class WorkspaceErasureScheduledError extends AppError {
  constructor(erasesAt: Date, doing: string) {
    super({
      code: 'workspace_erasure_scheduled',
      status: 409,
      title: 'Workspace about to be erased',
      detail:
        `This workspace will be erased at ${erasesAt.toISOString()}; ${doing} is refused until an owner cancels the erasure ` +
        '(POST /v1/workspaces/{ws}/erasure/cancel, or "Keep this workspace" in the dashboard).',
    });
  }
}

/** Refuses what would add to a workspace that is about to be erased (checkout). */
export async function assertNoErasureScheduled(db: DbOrTx, workspaceId: string, doing: string): Promise<void> {
  const [ws] = await db.select({ at: workspaces.erasureScheduledFor }).from(workspaces).where(eq(workspaces.id, workspaceId));
  if (ws?.at) throw new WorkspaceErasureScheduledError(ws.at, doing);
}
