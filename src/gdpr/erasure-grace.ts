/**
 * Erasing a workspace is final, so it waits a grace period (WORKSPACE_ERASURE_GRACE_HOURS, a day by
 * default) after an owner asks: a mistaken click, a fuzzer or a stolen session with the name typed
 * back can still be undone. Meanwhile the workspace is marked (`erasure_scheduled_for`), its servers
 * keep running and serving mail, new checkouts are refused, every owner is mailed when and how to
 * cancel, and any owner may cancel. When the time comes the `gdpr.erasure_sweep` schedule starts the
 * existing erasure job (src/gdpr/erase.ts). The schedule is a row, not a delayed job, so cancelling
 * is one UPDATE and a restart loses nothing.
 */
import { and, eq, isNotNull, isNull, lte } from 'drizzle-orm';
import { audit, SYSTEM_ACTOR, type Actor } from '../audit.ts';
import { memberships, users, workspaces } from '../db/schema/index.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { sendBestEffort, type MailMessage } from '../mail/mailer.ts';
import { workspaceErasureCancelledMessage, workspaceErasureScheduledMessage } from '../mail/messages.ts';
import { markWorkspace, type ErasureDeps } from './erase.ts';

async function mailOwners(deps: ErasureDeps, workspaceId: string, message: (to: string[]) => MailMessage): Promise<void> {
  const to = await ownersOf(deps, workspaceId);
  if (to.length > 0) await sendBestEffort(deps.mailer, deps.log, message(to));
}

async function ownersOf(deps: ErasureDeps, workspaceId: string): Promise<string[]> {
  const rows = await deps.database.db
    .select({ email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.role, 'owner'), isNull(users.erasureRequestedAt)));
  return rows.map((r) => r.email);
}

/**
 * DELETE /v1/workspaces/{ws}, confirmed (assertWorkspaceErasureConfirmed). Asking again while it
 * waits keeps the first time: a second click must not push the erasure back without saying so.
 */
export async function scheduleWorkspaceErasure(
  deps: ErasureDeps,
  actor: Actor,
  workspaceId: string,
  now = new Date(deps.clock.now()),
): Promise<{ status: 'scheduled' | 'erasing'; erasesAt: Date }> {
  const { scheduled, fresh, name } = await deps.database.db.transaction(async (tx) => {
    const [ws] = await tx.select().from(workspaces).where(eq(workspaces.id, workspaceId)).for('update');
    if (!ws || ws.erasureRequestedAt) throw new NotFoundError('Workspace');
    if (ws.erasureScheduledFor) return { scheduled: ws.erasureScheduledFor, fresh: false, name: ws.name };
    if (deps.workspaceGraceMs === 0) {
      await markWorkspace(deps, tx, workspaceId);
      await audit(tx, actor, { action: 'workspace.erasure_requested', workspaceId, target: workspaceId });
      return { scheduled: null, fresh: true, name: ws.name };
    }
    const at = new Date(now.getTime() + deps.workspaceGraceMs);
    await tx.update(workspaces).set({ erasureScheduledFor: at }).where(eq(workspaces.id, workspaceId));
    await audit(tx, actor, { action: 'workspace.erasure_scheduled', workspaceId, target: workspaceId, details: { erasesAt: at.toISOString() } });
    return { scheduled: at, fresh: true, name: ws.name };
  });
  if (!scheduled) return { status: 'erasing', erasesAt: now };
  if (fresh) {
    const link = `${deps.publicUrl}/w/${workspaceId}`;
    await mailOwners(deps, workspaceId, (to) => workspaceErasureScheduledMessage(to, { workspace: name, erasesAt: scheduled, link }));
  }
  return { status: 'scheduled', erasesAt: scheduled };
}

/** POST /v1/workspaces/{ws}/erasure/cancel (an owner): 409 when nothing waits (none asked, or it already started). */
export async function cancelWorkspaceErasure(deps: ErasureDeps, actor: Actor, workspaceId: string): Promise<void> {
  const name = await deps.database.db.transaction(async (tx) => {
    const [row] = await tx
      .update(workspaces)
      .set({ erasureScheduledFor: null })
      .where(and(eq(workspaces.id, workspaceId), isNotNull(workspaces.erasureScheduledFor), isNull(workspaces.erasureRequestedAt)))
      .returning({ name: workspaces.name });
    if (!row) throw new ConflictError('No erasure of this workspace is waiting to be cancelled', 'erasure_not_scheduled');
    await audit(tx, actor, { action: 'workspace.erasure_cancelled', workspaceId, target: workspaceId });
    return row.name;
  });
  await mailOwners(deps, workspaceId, (to) => workspaceErasureCancelledMessage(to, { workspace: name, link: `${deps.publicUrl}/w/${workspaceId}` }));
}

/** The `gdpr.erasure_sweep` schedule: starts the erasures whose grace period is over. Returns their workspace ids. */
export async function startDueErasures(deps: ErasureDeps, now = new Date(deps.clock.now())): Promise<string[]> {
  const due = await deps.database.db
    .select({ id: workspaces.id })
    .from(workspaces)
    .where(and(lte(workspaces.erasureScheduledFor, now), isNull(workspaces.erasureRequestedAt)))
    .limit(100);
  const started: string[] = [];
  for (const { id } of due) {
    // Checked again under the row's lock: an owner who cancels a moment before wins.
    const go = await deps.database.db.transaction(async (tx) => {
      const [ws] = await tx.select().from(workspaces).where(eq(workspaces.id, id)).for('update');
      if (!ws?.erasureScheduledFor || ws.erasureScheduledFor > now || ws.erasureRequestedAt) return false;
      await markWorkspace(deps, tx, id);
      await audit(
        tx,
        { ...SYSTEM_ACTOR, id: 'gdpr-erasure' },
        { action: 'workspace.erasure_requested', workspaceId: id, target: id, details: { after: 'grace period' } },
      );
      return true;
    });
    if (go) started.push(id);
  }
  return started;
}
