/**
 * App passwords of a mailbox (issue 23): a mail client gets its own password, scoped to IMAP,
 * SMTP submission or both, shown once and kept only as a Dovecot hash; revoking one removes
 * it from the server with the next sync. With the main password off for mail clients, only
 * app passwords log in over IMAP and SMTP (the webmail keeps working, see mailstack/mailboxes.ts).
 * Every change bumps the mailbox's version and enqueues the sync in its own transaction, so
 * the mailbox shows `pending` until the server has it.
 */
import { and, asc, count, eq, isNull } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Db, DbOrTx } from '../db/client.ts';
import { mailboxAppPasswords, mailboxes, type AppPasswordScope } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import { APP_PASSWORD_SLOTS } from '../mailstack/mail-guard-files.ts';
import { findServer } from '../servers/views.ts';
import type { WorkspaceAccess } from '../workspaces/access.ts';
import { dovecotPasswordHash, generateMailboxPassword } from './credentials.ts';
import { enqueueSync, findMailbox, type MailboxDeps, type MailboxRow } from './service.ts';

export type AppPasswordRow = typeof mailboxAppPasswords.$inferSelect;

export function presentAppPassword(p: AppPasswordRow) {
  return {
    id: p.id,
    mailboxId: p.mailboxId,
    name: p.name,
    scopes: p.scopes as AppPasswordScope[],
    createdAt: p.createdAt.toISOString(),
    revokedAt: p.revokedAt?.toISOString() ?? null,
    lastUsed: p.lastUsedAt ? { at: p.lastUsedAt.toISOString(), ip: p.lastUsedIp, service: p.lastUsedService } : null,
  };
}

/** Owners and admins for any mailbox; a member only for the mailbox assigned to them. */
export async function credentialMailbox(
  db: Db,
  access: WorkspaceAccess,
  serverId: string,
  mailboxId: string,
): Promise<{ server: Awaited<ReturnType<typeof findServer>>; mailbox: MailboxRow }> {
  const server = await findServer(db, serverId, access.workspaceId);
  const mailbox = await findMailbox(db, server.id, mailboxId);
  const principal = access.principal;
  if (access.role === 'member' && !(principal.kind === 'user' && mailbox.assigneeUserId === principal.userId)) {
    throw new ForbiddenError('Members manage the credentials of the mailboxes assigned to them only');
  }
  return { server, mailbox };
}

/** The change reaches the server with the next sync; only a ready server takes changes. */
function assertReady(server: { status: string }): void {
  if (server.status !== 'ready') throw new ConflictError(`The server is ${server.status}; credentials can be changed once it is ready`);
}

/** `now`: the mailbox's updated_at, which the resync sweep compares with its own clock's cutoff. */
async function markPending(tx: DbOrTx, mailboxId: string, now: Date): Promise<MailboxRow> {
  const [locked] = await tx.select().from(mailboxes).where(eq(mailboxes.id, mailboxId)).for('update');
  if (!locked || locked.state === 'deleting') throw new NotFoundError('Mailbox');
  const [updated] = await tx
    .update(mailboxes)
    .set({ version: locked.version + 1, syncStatus: 'pending', syncError: null, updatedAt: now })
    .where(eq(mailboxes.id, mailboxId))
    .returning();
  return updated!;
}

export async function listAppPasswords(db: Db, access: WorkspaceAccess, serverId: string, mailboxId: string): Promise<AppPasswordRow[]> {
  const { mailbox } = await credentialMailbox(db, access, serverId, mailboxId);
  return db
    .select()
    .from(mailboxAppPasswords)
    .where(eq(mailboxAppPasswords.mailboxId, mailbox.id))
    .orderBy(asc(mailboxAppPasswords.createdAt), asc(mailboxAppPasswords.id));
}

export async function createAppPassword(
  deps: MailboxDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  mailboxId: string,
  input: { name: string; scopes: readonly AppPasswordScope[] },
): Promise<{ appPassword: AppPasswordRow; password: string }> {
  const { server, mailbox } = await credentialMailbox(deps.database.db, access, serverId, mailboxId);
  assertReady(server);
  const password = generateMailboxPassword();
  const passwordHash = await dovecotPasswordHash(password);
  const scopes = [...new Set(input.scopes)].sort();
  return deps.database.db.transaction(async (tx) => {
    await markPending(tx, mailbox.id, new Date(deps.clock.now())); // also serialises creations on this mailbox for the limit below
    const [{ n }] = (await tx
      .select({ n: count() })
      .from(mailboxAppPasswords)
      .where(and(eq(mailboxAppPasswords.mailboxId, mailbox.id), isNull(mailboxAppPasswords.revokedAt)))) as [{ n: number }];
    if (Number(n) >= APP_PASSWORD_SLOTS) throw new ConflictError(`A mailbox can have ${APP_PASSWORD_SLOTS} app passwords; revoke one first`);
    const [row] = await tx
      .insert(mailboxAppPasswords)
      .values({ workspaceId: server.workspaceId, mailboxId: mailbox.id, name: input.name, scopes, passwordHash })
      .returning();
    await audit(tx, actor, {
      action: 'mailbox.app_password_create',
      workspaceId: server.workspaceId,
      target: mailbox.id,
      details: { appPasswordId: row!.id, name: input.name, scopes },
    });
    await enqueueSync(deps.queue, tx, server.id);
    return { appPassword: row!, password };
  });
}

export async function revokeAppPassword(
  deps: MailboxDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  mailboxId: string,
  appPasswordId: string,
): Promise<AppPasswordRow> {
  const { server, mailbox } = await credentialMailbox(deps.database.db, access, serverId, mailboxId);
  assertReady(server);
  const now = new Date(deps.clock.now());
  return deps.database.db.transaction(async (tx) => {
    await markPending(tx, mailbox.id, now);
    const [row] = /^[0-9a-f-]{36}$/i.test(appPasswordId)
      ? await tx
          .update(mailboxAppPasswords)
          .set({ revokedAt: now })
          .where(and(eq(mailboxAppPasswords.id, appPasswordId), eq(mailboxAppPasswords.mailboxId, mailbox.id), isNull(mailboxAppPasswords.revokedAt)))
          .returning()
      : [];
    if (!row) throw new NotFoundError('App password');
    await audit(tx, actor, {
      action: 'mailbox.app_password_revoke',
      workspaceId: server.workspaceId,
      target: mailbox.id,
      details: { appPasswordId: row.id, name: row.name },
    });
    await enqueueSync(deps.queue, tx, server.id);
    return row;
  });
}

/** Off: mail clients need an app password for IMAP and SMTP; the main password still opens the webmail. */
export async function setMainPasswordForClients(
  deps: MailboxDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  mailboxId: string,
  enabled: boolean,
): Promise<MailboxRow> {
  const { server, mailbox } = await credentialMailbox(deps.database.db, access, serverId, mailboxId);
  assertReady(server);
  return deps.database.db.transaction(async (tx) => {
    await markPending(tx, mailbox.id, new Date(deps.clock.now()));
    const [updated] = await tx.update(mailboxes).set({ mainPasswordForClients: enabled }).where(eq(mailboxes.id, mailbox.id)).returning();
    await audit(tx, actor, {
      action: enabled ? 'mailbox.main_password_clients_on' : 'mailbox.main_password_clients_off',
      workspaceId: server.workspaceId,
      target: mailbox.id,
    });
    await enqueueSync(deps.queue, tx, server.id);
    return updated!;
  });
}
