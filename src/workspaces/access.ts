/**
 * Workspace scoping. Every workspace route starts here: a workspace the
 * caller does not belong to (or that an API key is not bound to) is "not
 * found" — never "forbidden" — so ids cannot be probed. Inside the workspace,
 * a workspace that requires two-factor sign-in refuses members without it,
 * then the permission table decides.
 */
import { and, eq, isNull } from 'drizzle-orm';
import type { Principal } from '../api/env.ts';
import { roleAllows, scopesAllow, type Action } from '../auth/permissions.ts';
import type { DbOrTx } from '../db/client.ts';
import { memberships, workspaces, type WorkspaceRole } from '../db/schema/index.ts';
import { ForbiddenError, NotFoundError, TwoFactorRequiredError } from '../errors.ts';

export interface WorkspaceAccess {
  workspaceId: string;
  /** null for API keys */
  role: WorkspaceRole | null;
  principal: Principal;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface Membership {
  role: WorkspaceRole;
  requireTwoFactor: boolean;
}

/** The caller's membership of a live workspace, or null (not a member, or the workspace is being erased). */
export async function membershipOf(db: DbOrTx, userId: string, workspaceId: string): Promise<Membership | null> {
  const [row] = await db
    .select({ role: memberships.role, requireTwoFactor: workspaces.requireTwoFactor })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    // A workspace being erased is already gone for everyone.
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId), isNull(workspaces.erasureRequestedAt)))
    .limit(1);
  return row ?? null;
}

/**
 * The same decision as authorizeWorkspace, with the membership looked up by `lookup` (a cache in
 * front of membershipOf): an API key needs no lookup at all.
 */
export async function authorizeWorkspaceWith(
  lookup: (userId: string, workspaceId: string) => Promise<Membership | null>,
  principal: Principal,
  workspaceId: string,
  action: Action,
): Promise<WorkspaceAccess> {
  if (!UUID.test(workspaceId)) throw new NotFoundError('Workspace');
  if (principal.kind === 'api_key') {
    if (principal.workspaceId !== workspaceId) throw new NotFoundError('Workspace');
    if (!scopesAllow(principal.scopes, action)) throw new ForbiddenError(`API key scope does not allow ${action}`);
    return { workspaceId, role: null, principal };
  }
  const row = await lookup(principal.userId, workspaceId);
  if (!row) throw new NotFoundError('Workspace');
  if (row.requireTwoFactor && !principal.twoFactor) {
    throw new TwoFactorRequiredError('This workspace requires two-factor sign-in: set it up at /account/two-factor (or /v1/me/two-factor) first');
  }
  if (!roleAllows(row.role, action)) throw new ForbiddenError(`Your role (${row.role}) does not allow ${action}`);
  return { workspaceId, role: row.role, principal };
}

export async function authorizeWorkspace(db: DbOrTx, principal: Principal, workspaceId: string, action: Action): Promise<WorkspaceAccess> {
  return authorizeWorkspaceWith((userId, ws) => membershipOf(db, userId, ws), principal, workspaceId, action);
}
