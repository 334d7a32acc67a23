/**
 * The reads behind the busiest authenticated routes, through this process's read cache
 * (read-cache.ts): a member's role in a workspace, and a server's detail view. Without a cache,
 * or on a miss, they are the plain queries.
 */
import type { Db } from '../db/client.ts';
import { NotFoundError } from '../errors.ts';
import { findServer, serverDetail } from '../servers/views.ts';
import { membershipOf, type Membership } from '../workspaces/access.ts';
import type { ReadCache } from './read-cache.ts';

export function cachedMembership(cache: ReadCache | undefined, db: Db): (userId: string, workspaceId: string) => Promise<Membership | null> {
  return async (userId, workspaceId) => {
    const key = `member:${userId}:${workspaceId}`;
    const hit = cache?.get<Membership>('auth', key);
    if (hit) return hit;
    const ticket = cache?.ticket('auth') ?? 0;
    const row = await membershipOf(db, userId, workspaceId);
    // Only memberships are kept: a refusal costs a query, and nobody can fill the cache by probing.
    if (row) cache?.set('auth', key, row, ticket);
    return row;
  };
}

export type ServerDetailView = Awaited<ReturnType<typeof serverDetail>>;

/** A server's customer view (no logs), scoped to the workspace the caller was authorised for. */
export async function cachedServerDetail(cache: ReadCache | undefined, db: Db, serverId: string, workspaceId: string): Promise<ServerDetailView> {
  const hit = cache?.get<{ workspaceId: string; view: ServerDetailView }>('server', serverId);
  if (hit) {
    if (hit.workspaceId !== workspaceId) throw new NotFoundError('Server');
    return hit.view;
  }
  const ticket = cache?.ticket('server') ?? 0;
  const view = await serverDetail(db, await findServer(db, serverId, workspaceId), { withLogs: false });
  cache?.set('server', serverId, { workspaceId, view }, ticket, { runId: view.run?.id ?? null });
  return view;
}
