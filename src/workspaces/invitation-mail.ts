/**
 * Sends an invitation's link to the invitee. Used by the dashboard and by
 * POST /v1/workspaces/{ws}/invitations alike, so an invitation made either
 * way arrives by email (the API also returns the token, for scripted setups).
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { users, workspaces } from '../db/schema/index.ts';
import type { Logger } from '../log.ts';
import { sendBestEffort, type Mailer } from '../mail/mailer.ts';
import { invitationMessage } from '../mail/messages.ts';

export interface InvitationMailDeps {
  db: Db;
  mailer: Mailer;
  log: Logger;
  publicUrl: string;
}

export async function mailInvitation(
  deps: InvitationMailDeps,
  invitation: { workspaceId: string; email: string; role: string; expiresAt: Date; invitedBy: string | null },
  token: string,
): Promise<boolean> {
  const [[ws], [inviter]] = await Promise.all([
    deps.db.select({ name: workspaces.name }).from(workspaces).where(eq(workspaces.id, invitation.workspaceId)),
    invitation.invitedBy ? deps.db.select({ name: users.name, email: users.email }).from(users).where(eq(users.id, invitation.invitedBy)) : Promise.resolve([]),
  ]);
  return sendBestEffort(
    deps.mailer,
    deps.log,
    invitationMessage(invitation.email, {
      workspace: ws?.name ?? '(unnamed)',
      inviter: inviter?.name || '(no name)',
      inviterEmail: inviter?.email ?? null,
      role: invitation.role,
      expiresAt: invitation.expiresAt,
      link: `${deps.publicUrl}/invitations/accept?token=${encodeURIComponent(token)}`,
    }),
  );
}
