/**
 * Mailboxes of a customer's server. Every change is written with its sync job
 * in one transaction (the job pushes the server's whole mailbox set over SSH),
 * so the API answers at once with `pending` and the row turns `applied` or
 * `failed` when the server has it. Passwords are generated, shown once, kept
 * in the vault; only owners and admins export them, and each export is audited.
 */
import { and, asc, count, eq } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Database, Db, DbOrTx, Tx } from '../db/client.ts';
import { mailAliases, mailboxes, memberships, servers } from '../db/schema/index.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { findServer, type ServerRow } from '../servers/views.ts';
import type { Clock } from '../clock.ts';
import type { Vault } from '../vault/vault.ts';
import type { WorkspaceAccess } from '../workspaces/access.ts';
import { dovecotPasswordHash, generateMailboxPassword, passwordOwner } from './credentials.ts';
import { mailboxQuotaMb } from '../config.ts';

export interface MailboxDeps {
  database: Database;
  queue: JobQueue;
  vault: Vault;
  clock: Clock;
  /** The plan's limits: how many mailboxes, how much storage, aliases and forwards (src/addresses/). */
  limitsOf(planId: string): { mailboxes: number; storageGb: number; mailboxQuotaGb?: number | undefined; aliases: number; forwards: number };
  /**
   * Where a webmail login link points: the server's own webmail (default), or, for the sandbox's
   * emulated servers (no Roundcube, no DNS a browser can resolve), the sandbox's stand-in page.
   */
  webmailUrl?: (server: { id: string; domain: string }, token: string) => string;
}

export type MailboxRow = typeof mailboxes.$inferSelect;

export function presentMailbox(m: MailboxRow) {
  return {
    id: m.id,
    serverId: m.serverId,
    address: m.address,
    localPart: m.localPart,
    displayName: m.displayName,
    assigneeUserId: m.assigneeUserId,
    quotaMb: m.quotaMb,
    state: m.state,
    sync: { status: m.syncStatus, error: m.syncError, appliedAt: m.appliedAt?.toISOString() ?? null },
    mainPasswordForClients: m.mainPasswordForClients,
    usage: m.usageCollectedAt ? { usedBytes: m.usedBytes ?? 0, collectedAt: m.usageCollectedAt.toISOString() } : null,
    createdAt: m.createdAt.toISOString(),
  };
}

/** Only a ready server takes changes: before that the mail stack is not there to receive them. */
async function changeableServer(db: Db, access: WorkspaceAccess, serverId: string): Promise<ServerRow> {
  const server = await findServer(db, serverId, access.workspaceId);
  if (server.status !== 'ready') throw new ConflictError(`The server is ${server.status}; mailboxes can be changed once it is ready`);
  return server;
}

/** A mailbox of the server that is not being deleted; anything else (a foreign or malformed id) is not found. */
export async function findMailbox(db: DbOrTx, serverId: string, mailboxId: string): Promise<MailboxRow> {
  const [row] = /^[0-9a-f-]{36}$/i.test(mailboxId)
    ? await db
        .select()
        .from(mailboxes)
        .where(and(eq(mailboxes.id, mailboxId), eq(mailboxes.serverId, serverId)))
    : [];
  if (!row || row.state === 'deleting') throw new NotFoundError('Mailbox');
  return row;
}

export async function enqueueSync(queue: JobQueue, tx: Tx, serverId: string): Promise<void> {
  // One queued sync per server is enough: it reads the state when it runs (queue policy "stately").
  await queue.send('mailboxes.sync', { serverId }, { tx, singletonKey: serverId });
}

export async function listMailboxes(db: Db, access: WorkspaceAccess, serverId: string): Promise<MailboxRow[]> {
  const server = await findServer(db, serverId, access.workspaceId);
  return db.select().from(mailboxes).where(eq(mailboxes.serverId, server.id)).orderBy(asc(mailboxes.localPart));
}

export async function createMailbox(
  deps: MailboxDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  input: { localPart: string; displayName?: string | undefined; assigneeUserId?: string | null | undefined },
): Promise<{ mailbox: MailboxRow; password: string }> {
  const server = await changeableServer(deps.database.db, access, serverId);
  if (input.assigneeUserId) await assertMember(deps.database.db, server.workspaceId, input.assigneeUserId);
  const password = generateMailboxPassword();
  const passwordHash = await dovecotPasswordHash(password);
  const limits = deps.limitsOf(server.planId);
  return deps.database.db.transaction(async (tx) => {
    // Serialises creations on this server so the plan's limit holds under concurrency.
    await tx.select({ id: servers.id }).from(servers).where(eq(servers.id, server.id)).for('update');
    const [{ n }] = (await tx.select({ n: count() }).from(mailboxes).where(eq(mailboxes.serverId, server.id))) as [{ n: number }];
    if (Number(n) >= limits.mailboxes) throw new ConflictError(`The ${server.planId} plan includes ${limits.mailboxes} mailboxes`);
    const [taken] = await tx
      .select({ state: mailboxes.state })
      .from(mailboxes)
      .where(and(eq(mailboxes.serverId, server.id), eq(mailboxes.localPart, input.localPart)));
    if (taken)
      throw new ConflictError(
        taken.state === 'deleting' ? `${input.localPart}@${server.domain} is still being deleted` : `${input.localPart}@${server.domain} already exists`,
      );
    const [alias] = await tx
      .select({ id: mailAliases.id })
      .from(mailAliases)
      .where(and(eq(mailAliases.serverId, server.id), eq(mailAliases.localPart, input.localPart)));
    if (alias) throw new ConflictError(`${input.localPart}@${server.domain} already exists as an alias`);
    const [mailbox] = await tx
      .insert(mailboxes)
      .values({
        workspaceId: server.workspaceId,
        serverId: server.id,
        localPart: input.localPart,
        address: `${input.localPart}@${server.domain}`,
        displayName: input.displayName ?? null,
        assigneeUserId: input.assigneeUserId ?? null,
        quotaMb: mailboxQuotaMb(limits),
        passwordHash,
      })
      .returning();
    await deps.vault.put(tx, passwordOwner(mailbox!), password);
    await audit(tx, actor, { action: 'mailbox.create', workspaceId: server.workspaceId, target: mailbox!.id, details: { address: mailbox!.address } });
    await enqueueSync(deps.queue, tx, server.id);
    return { mailbox: mailbox!, password };
  });
}

/** A mailbox can only be assigned to a member of its own workspace. */
async function assertMember(db: Db, workspaceId: string, userId: string): Promise<void> {
  const [row] = /^[0-9a-f-]{36}$/i.test(userId)
    ? await db
        .select({ userId: memberships.userId })
        .from(memberships)
        .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)))
    : [];
  if (!row)
    throw new ValidationError('assigneeUserId is not a member of this workspace', {
      errors: [{ path: 'json.assigneeUserId', message: 'is not a member of this workspace' }],
    });
}

/** Assigns the mailbox to a member (who may then open its webmail), or to nobody. */
export async function assignMailbox(
  deps: MailboxDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  mailboxId: string,
  assigneeUserId: string | null,
): Promise<MailboxRow> {
  const { db } = deps.database;
  const server = await findServer(db, serverId, access.workspaceId);
  await findMailbox(db, server.id, mailboxId);
  if (assigneeUserId) await assertMember(db, server.workspaceId, assigneeUserId);
  return db.transaction(async (tx) => {
    const [updated] = await tx
      .update(mailboxes)
      .set({ assigneeUserId, updatedAt: new Date(deps.clock.now()) })
      .where(eq(mailboxes.id, mailboxId))
      .returning();
    await audit(tx, actor, { action: 'mailbox.assign', workspaceId: server.workspaceId, target: mailboxId, details: { assigneeUserId } });
    return updated!;
  });
}

export async function resetMailboxPassword(
  deps: MailboxDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  mailboxId: string,
): Promise<{ mailbox: MailboxRow; password: string }> {
  const server = await changeableServer(deps.database.db, access, serverId);
  await findMailbox(deps.database.db, server.id, mailboxId);
  const password = generateMailboxPassword();
  const passwordHash = await dovecotPasswordHash(password);
  return deps.database.db.transaction(async (tx) => {
    const [mailbox] = await tx.select().from(mailboxes).where(eq(mailboxes.id, mailboxId)).for('update');
    if (!mailbox || mailbox.state === 'deleting') throw new NotFoundError('Mailbox');
    const [updated] = await tx
      .update(mailboxes)
      .set({ passwordHash, version: mailbox.version + 1, syncStatus: 'pending', syncError: null, updatedAt: new Date(deps.clock.now()) })
      .where(eq(mailboxes.id, mailboxId))
      .returning();
    await deps.vault.put(tx, passwordOwner(mailbox), password);
    await audit(tx, actor, { action: 'mailbox.password_reset', workspaceId: server.workspaceId, target: mailbox.id });
    await enqueueSync(deps.queue, tx, server.id);
    return { mailbox: updated!, password };
  });
}

export async function deleteMailbox(deps: MailboxDeps, actor: Actor, access: WorkspaceAccess, serverId: string, mailboxId: string): Promise<void> {
  const server = await changeableServer(deps.database.db, access, serverId);
  await deps.database.db.transaction(async (tx) => {
    const [mailbox] = await tx
      .select()
      .from(mailboxes)
      .where(and(eq(mailboxes.id, mailboxId), eq(mailboxes.serverId, server.id)))
      .for('update');
    if (!mailbox || mailbox.state === 'deleting') throw new NotFoundError('Mailbox');
    // The row goes when the server no longer has the mailbox (sync); the password goes now.
    await tx
      .update(mailboxes)
      .set({ state: 'deleting', version: mailbox.version + 1, syncStatus: 'pending', syncError: null, updatedAt: new Date(deps.clock.now()) })
      .where(eq(mailboxes.id, mailbox.id));
    await deps.vault.remove(tx, passwordOwner(mailbox));
    await audit(tx, actor, { action: 'mailbox.delete', workspaceId: server.workspaceId, target: mailbox.id, details: { address: mailbox.address } });
    await enqueueSync(deps.queue, tx, server.id);
  });
}

/** The plaintext password, for the customer to put in a mail client. Audited with the reason given. */
export async function exportMailboxPassword(
  deps: MailboxDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  mailboxId: string,
  reason: string,
): Promise<{ address: string; password: string }> {
  const server = await findServer(deps.database.db, serverId, access.workspaceId);
  const mailbox = await findMailbox(deps.database.db, server.id, mailboxId);
  return deps.database.db.transaction(async (tx) => {
    // The audit entry commits with the decrypt or not at all.
    await audit(tx, actor, {
      action: 'mailbox.password_export',
      workspaceId: server.workspaceId,
      target: mailbox.id,
      details: { address: mailbox.address, reason },
    });
    return { address: mailbox.address, password: await deps.vault.get(tx, passwordOwner(mailbox)) };
  });
}
