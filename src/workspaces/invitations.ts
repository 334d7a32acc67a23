/**
 * Invitations: a signed, time-limited, single-use token shown once to the
 * inviter. Accepting is one conditional UPDATE (used_at IS NULL), so two
 * concurrent accepts of the same token cannot both succeed.
 */
import { and, asc, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import { assertEmailVerified } from '../accounts/email-verified.ts';
import { audit, type Actor } from '../audit.ts';
import { sha256Hex, signOpaqueToken, verifyOpaqueToken } from '../auth/keys.ts';
import { canGrantRole, roleWithArticle } from '../auth/permissions.ts';
import type { Db } from '../db/client.ts';
import { invitations, memberships, users, workspaces, type WorkspaceRole } from '../db/schema/index.ts';
import { AppError, ConflictError, ForbiddenError, NotFoundError, RateLimitedError } from '../errors.ts';
import type { WorkspaceAccess } from './access.ts';
import type { Clock } from '../clock.ts';

const TOKEN_PREFIX = 'mpi';

export interface InvitationDeps {
  db: Db;
  key: Buffer;
  ttlSeconds: number;
  /** Invitations one workspace may create in any 24 hours: each is a mail to a stranger. */
  perWorkspacePerDay: number;
  /** Expiry, the 24-hour window of the limit and the stamp of a new invitation. */
  clock: Clock;
}

const DAY_MS = 86_400_000;

class InvalidInvitationError extends AppError {
  constructor(detail: string) {
    super({ code: 'invitation_invalid', status: 400, title: 'Invitation cannot be used', detail });
  }
}

export async function createInvitation(deps: InvitationDeps, actor: Actor, access: WorkspaceAccess, input: { email: string; role: WorkspaceRole }) {
  if (!canGrantRole(access.role!, input.role)) throw new ForbiddenError(`${roleWithArticle(access.role!, true)} cannot invite ${roleWithArticle(input.role)}`);
  // The product mails the invitee in this person's name: only someone we can reach may do that.
  if (access.principal.kind === 'user') await assertEmailVerified(deps.db, access.principal.userId, 'inviting people');
  // Mail that can only confuse: to yourself, or to someone who is already in (the member list shows them).
  if (access.principal.kind === 'user' && access.principal.email === input.email) throw new ConflictError('You cannot invite yourself', 'invitation_self');
  const [member] = await deps.db
    .select({ id: memberships.userId })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, access.workspaceId), eq(users.email, input.email)))
    .limit(1);
  if (member) throw new ConflictError(`${input.email} is already a member of this workspace`, 'already_member');
  const token = signOpaqueToken(deps.key, TOKEN_PREFIX);
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    // Counted under a lock on the workspace row, so concurrent requests cannot all slip under the limit.
    await tx.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, access.workspaceId)).for('update');
    const recent = await tx
      .select({ createdAt: invitations.createdAt })
      .from(invitations)
      .where(and(eq(invitations.workspaceId, access.workspaceId), gt(invitations.createdAt, new Date(now - DAY_MS))))
      .orderBy(asc(invitations.createdAt));
    if (recent.length >= deps.perWorkspacePerDay) {
      const retryAfterMs = recent[recent.length - deps.perWorkspacePerDay]!.createdAt.getTime() + DAY_MS - now;
      throw new RateLimitedError(
        Math.max(1000, retryAfterMs),
        `This workspace has sent ${recent.length} invitations in the last 24 hours (the limit is ${deps.perWorkspacePerDay}); try again later`,
      );
    }
    const [row] = await tx
      .insert(invitations)
      .values({
        workspaceId: access.workspaceId,
        email: input.email,
        role: input.role,
        tokenHash: sha256Hex(token),
        invitedBy: access.principal.kind === 'user' ? access.principal.userId : null,
        expiresAt: new Date(now + deps.ttlSeconds * 1000),
        // Stamped by the same clock as the 24-hour window above counts it in, not by the database's default.
        createdAt: new Date(now),
      })
      .returning();
    await audit(tx, actor, {
      action: 'invitation.create',
      workspaceId: access.workspaceId,
      target: row!.id,
      details: { email: input.email, role: input.role },
    });
    return { invitation: row!, token };
  });
}

export async function listInvitations(db: Db, workspaceId: string) {
  return db.select().from(invitations).where(eq(invitations.workspaceId, workspaceId)).orderBy(desc(invitations.createdAt));
}

export async function revokeInvitation(db: Db, actor: Actor, access: WorkspaceAccess, invitationId: string) {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(invitations)
      .set({ revokedAt: sql`now()` }) // the database's time, as the audit row the same transaction writes
      .where(and(eq(invitations.id, invitationId), eq(invitations.workspaceId, access.workspaceId), isNull(invitations.revokedAt), isNull(invitations.usedAt)))
      .returning({ id: invitations.id });
    if (!row) throw new NotFoundError('Pending invitation');
    await audit(tx, actor, { action: 'invitation.revoke', workspaceId: access.workspaceId, target: invitationId });
  });
}

/**
 * What the invitee is asked to accept: the workspace, who invited them, the role, the expiry. Only
 * the invitee learns it, under the same rules as accepting (anyone else gets the forged-token answer).
 */
export async function describeInvitation(deps: InvitationDeps, user: { email: string }, token: string) {
  if (!verifyOpaqueToken(deps.key, TOKEN_PREFIX, token)) throw new InvalidInvitationError('The invitation token is not valid');
  const now = new Date(deps.clock.now());
  const [row] = await deps.db
    .select({ inv: invitations, workspace: workspaces.name, inviterName: users.name, inviterEmail: users.email })
    .from(invitations)
    .innerJoin(workspaces, eq(workspaces.id, invitations.workspaceId))
    .leftJoin(users, eq(users.id, invitations.invitedBy))
    .where(eq(invitations.tokenHash, sha256Hex(token)))
    .limit(1);
  if (!row || row.inv.email !== user.email) throw new InvalidInvitationError('The invitation token is not valid');
  if (row.inv.revokedAt) throw new InvalidInvitationError('The invitation was revoked');
  if (row.inv.usedAt) throw new InvalidInvitationError('The invitation was already used');
  if (row.inv.expiresAt <= now) throw new InvalidInvitationError('The invitation has expired');
  return {
    workspace: row.workspace,
    role: row.inv.role,
    expiresAt: row.inv.expiresAt,
    invitedBy: row.inviterEmail ? { name: row.inviterName, email: row.inviterEmail } : null,
  };
}

export async function acceptInvitation(deps: InvitationDeps, actor: Actor, user: { userId: string; email: string }, token: string) {
  if (!verifyOpaqueToken(deps.key, TOKEN_PREFIX, token)) throw new InvalidInvitationError('The invitation token is not valid');
  const now = new Date(deps.clock.now());
  return deps.db.transaction(async (tx) => {
    const [inv] = await tx
      .select()
      .from(invitations)
      .where(eq(invitations.tokenHash, sha256Hex(token)))
      .limit(1)
      .for('update');
    // Anyone but the invitee gets the forged-token answer, whatever the invitation's state: a
    // leaked token must not confirm it is real, still pending, used or revoked.
    if (!inv || inv.email !== user.email) throw new InvalidInvitationError('The invitation token is not valid');
    if (inv.revokedAt) throw new InvalidInvitationError('The invitation was revoked');
    if (inv.usedAt) throw new InvalidInvitationError('The invitation was already used');
    if (inv.expiresAt <= now) throw new InvalidInvitationError('The invitation has expired');
    const [used] = await tx
      .update(invitations)
      .set({ usedAt: now, usedBy: user.userId })
      .where(and(eq(invitations.id, inv.id), isNull(invitations.usedAt), gt(invitations.expiresAt, now)))
      .returning({ id: invitations.id });
    if (!used) throw new InvalidInvitationError('The invitation was already used');
    const [existing] = await tx
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.workspaceId, inv.workspaceId), eq(memberships.userId, user.userId)))
      .limit(1);
    // Accepting never lowers a role someone already has.
    if (!existing) await tx.insert(memberships).values({ workspaceId: inv.workspaceId, userId: user.userId, role: inv.role });
    await audit(tx, actor, { action: 'invitation.accept', workspaceId: inv.workspaceId, target: inv.id, details: { role: inv.role } });
    const [ws] = await tx.select().from(workspaces).where(eq(workspaces.id, inv.workspaceId));
    return { workspace: ws!, role: existing?.role ?? inv.role };
  });
}
