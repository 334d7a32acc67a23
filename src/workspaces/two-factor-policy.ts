/**
 * "Members must use two-factor sign-in", per workspace. Whoever turns it on
 * must have a second factor already (they would lock themselves out of the
 * workspace otherwise); members without one are sent to enrol by the
 * dashboard and refused by the API's workspace routes until they have.
 */
import { eq } from 'drizzle-orm';
import { hasSecondFactor } from '../accounts/two-factor/status.ts';
import { audit, type Actor } from '../audit.ts';
import type { Db } from '../db/client.ts';
import { workspaces } from '../db/schema/index.ts';
import { ConflictError } from '../errors.ts';
import type { WorkspaceAccess } from './access.ts';

export async function twoFactorPolicy(db: Db, access: WorkspaceAccess): Promise<{ requireTwoFactor: boolean }> {
  const [row] = await db.select({ requireTwoFactor: workspaces.requireTwoFactor }).from(workspaces).where(eq(workspaces.id, access.workspaceId));
  return { requireTwoFactor: row?.requireTwoFactor ?? false };
}

export async function setTwoFactorPolicy(db: Db, actor: Actor, access: WorkspaceAccess, requireTwoFactor: boolean): Promise<{ requireTwoFactor: boolean }> {
  const p = access.principal;
  if (requireTwoFactor && p.kind === 'user' && !(await hasSecondFactor(db, p.userId))) {
    throw new ConflictError('Set up two-factor sign-in for your own account first (Account → Two-factor sign-in)', 'two_factor_off');
  }
  await db.transaction(async (tx) => {
    await tx.update(workspaces).set({ requireTwoFactor }).where(eq(workspaces.id, access.workspaceId));
    await audit(tx, actor, {
      action: 'workspace.two_factor_policy',
      workspaceId: access.workspaceId,
      target: access.workspaceId,
      details: { requireTwoFactor },
    });
  });
  return { requireTwoFactor };
}
