/** Writes one audit entry; called inside the transaction of the action it records. */
import type { DbOrTx } from './db/client.ts';
import { auditLog } from './db/schema/index.ts';

export interface Actor {
  id: string;
  kind: 'user' | 'api_key' | 'staff' | 'system' | 'stripe';
  ip: string | null;
}

export const SYSTEM_ACTOR: Actor = { id: 'system', kind: 'system', ip: null };

export async function audit(
  db: DbOrTx,
  actor: Actor,
  entry: { action: string; workspaceId?: string | null; target?: string | null; details?: Record<string, unknown> },
): Promise<void> {
  await db.insert(auditLog).values({
    actorId: actor.id,
    actorKind: actor.kind,
    ip: actor.ip,
    workspaceId: entry.workspaceId ?? null,
    action: entry.action,
    target: entry.target ?? null,
    details: entry.details ?? null,
  });
}
