/** Workspaces and their members. */
import { assertDisplayText } from '../accounts/display-text.ts';
import { and, asc, eq } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import { canGrantRole, canManageMember, roleWithArticle } from '../auth/permissions.ts';
import type { Db } from '../db/client.ts';
import { memberships, users, workspaces, type WorkspaceRole } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import type { WorkspaceAccess } from './access.ts';

export async function createWorkspace(db: Db, actor: Actor, userId: string, name: string) {
  assertDisplayText(name, 'json.name');
  return db.transaction(async (tx) => {
    const [ws] = await tx.insert(workspaces).values({ name }).returning();
    await tx.insert(memberships).values({ workspaceId: ws!.id, userId, role: 'owner' });
    await audit(tx, actor, { action: 'workspace.create', workspaceId: ws!.id, target: ws!.id });
    return { ...ws!, role: 'owner' as WorkspaceRole };
  });
}

export async function listWorkspacesOfUser(db: Db, userId: string) {
  return db
    .select({
      id: workspaces.id,
      name: workspaces.name,
      createdAt: workspaces.createdAt,
      erasureScheduledFor: workspaces.erasureScheduledFor,
      role: memberships.role,
    })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(eq(memberships.userId, userId))
    .orderBy(asc(workspaces.createdAt));
}

export async function getWorkspace(db: Db, access: WorkspaceAccess) {
  const [ws] = await db.select().from(workspaces).where(eq(workspaces.id, access.workspaceId)).limit(1);
  if (!ws) throw new NotFoundError('Workspace');
  return { ...ws, role: access.role };
}

export async function renameWorkspace(db: Db, actor: Actor, access: WorkspaceAccess, name: string) {
  assertDisplayText(name, 'json.name');
  return db.transaction(async (tx) => {
    const [ws] = await tx.update(workspaces).set({ name }).where(eq(workspaces.id, access.workspaceId)).returning();
    await audit(tx, actor, { action: 'workspace.rename', workspaceId: access.workspaceId, target: access.workspaceId });
    return { ...ws!, role: access.role };
  });
}

export async function listMembers(db: Db, workspaceId: string) {
  return db
    .select({ userId: users.id, email: users.email, name: users.name, role: memberships.role, joinedAt: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.workspaceId, workspaceId))
    .orderBy(asc(memberships.createdAt));
}

/**
 * Locks the workspace's membership rows, so two concurrent demotions cannot
 * both see "another owner exists" and leave the workspace with none.
 */
async function lockMembers(tx: Parameters<Parameters<Db['transaction']>[0]>[0], workspaceId: string) {
  return tx.select({ userId: memberships.userId, role: memberships.role }).from(memberships).where(eq(memberships.workspaceId, workspaceId)).for('update');
}

export async function changeMemberRole(db: Db, actor: Actor, access: WorkspaceAccess, userId: string, role: WorkspaceRole) {
  return db.transaction(async (tx) => {
    const members = await lockMembers(tx, access.workspaceId);
    const target = members.find((m) => m.userId === userId);
    if (!target) throw new NotFoundError('Member');
    const actorRole = access.role!;
    if (!canManageMember(actorRole, target.role) || !canGrantRole(actorRole, role)) {
      throw new ForbiddenError(`${roleWithArticle(actorRole, true)} cannot change ${roleWithArticle(target.role)} to ${role}`);
    }
    if (target.role === 'owner' && role !== 'owner' && members.filter((m) => m.role === 'owner').length === 1) {
      throw new ConflictError('The last owner cannot be demoted; make someone else owner first', 'last_owner');
    }
    await tx
      .update(memberships)
      .set({ role })
      .where(and(eq(memberships.workspaceId, access.workspaceId), eq(memberships.userId, userId)));
    await audit(tx, actor, { action: 'member.role_change', workspaceId: access.workspaceId, target: userId, details: { from: target.role, to: role } });
    return { userId, role };
  });
}

export async function removeMember(db: Db, actor: Actor, access: WorkspaceAccess, userId: string) {
  await db.transaction(async (tx) => {
    const members = await lockMembers(tx, access.workspaceId);
    const target = members.find((m) => m.userId === userId);
    if (!target) throw new NotFoundError('Member');
    const self = access.principal.kind === 'user' && access.principal.userId === userId;
    if (!self && !canManageMember(access.role!, target.role))
      throw new ForbiddenError(`${roleWithArticle(access.role!, true)} cannot remove ${roleWithArticle(target.role)}`);
    if (target.role === 'owner' && members.filter((m) => m.role === 'owner').length === 1) {
      throw new ConflictError('The last owner cannot be removed', 'last_owner');
    }
    await tx.delete(memberships).where(and(eq(memberships.workspaceId, access.workspaceId), eq(memberships.userId, userId)));
    await audit(tx, actor, { action: 'member.remove', workspaceId: access.workspaceId, target: userId, details: { role: target.role } });
  });
}
