/**
 * The support list of servers: each with its customer (the workspace's name and its owners'
 * addresses, not an id to look up) and a search by domain or by an owner's email address.
 */
import { and, desc, eq, ilike, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { memberships, servers, users, workspaces } from '../db/schema/index.ts';

export interface SupportServerRow {
  id: string;
  domain: string;
  status: string;
  zone: string;
  workspaceId: string;
  workspaceName: string;
  ownerEmails: string[];
  updatedAt: Date;
}

/** `q`: part of a domain, or part of an owner's email address (case-insensitive; LIKE wildcards are literal). */
export async function listServersForSupport(db: Db, where: { status?: string; workspaceId?: string; q?: string }): Promise<SupportServerRow[]> {
  const conds: SQL[] = [];
  if (where.status) conds.push(eq(servers.status, where.status as (typeof servers.$inferSelect)['status']));
  if (where.workspaceId) conds.push(eq(servers.workspaceId, where.workspaceId));
  const q = where.q?.trim().toLowerCase();
  if (q) {
    const pattern = `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    const byOwner = db
      .select({ id: memberships.workspaceId })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.role, 'owner'), ilike(users.email, pattern)));
    conds.push(or(ilike(servers.domain, pattern), inArray(servers.workspaceId, byOwner))!);
  }
  const rows = await db
    .select({
      id: servers.id,
      domain: servers.domain,
      status: servers.status,
      zone: servers.zone,
      workspaceId: servers.workspaceId,
      workspaceName: workspaces.name,
      updatedAt: servers.updatedAt,
      ownerEmails: sql<string[]>`coalesce((select array_agg(u.email order by u.email) from ${memberships} m join ${users} u on u.id = m.user_id
      where m.workspace_id = ${servers.workspaceId} and m.role = 'owner'), '{}')`,
    })
    .from(servers)
    .innerJoin(workspaces, eq(workspaces.id, servers.workspaceId))
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(servers.createdAt))
    .limit(500);
  return rows;
}
