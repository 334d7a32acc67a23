/**
 * Importing a mailbox from another provider (issue 23): the customer gives the old IMAP
 * server, the user and the password once; the import row, the password (sealed in the vault)
 * and its job commit together, and the job (import-run.ts) runs import-mailbox.sh on the
 * server, then deletes the password whatever the outcome. Running it again copies only what
 * is new and asks for the password again. Owners, admins and the member the mailbox is
 * assigned to; people only, like the mailbox's other credentials.
 */
import { and, desc, eq, inArray } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Database, Db } from '../db/client.ts';
import { mailboxImports, mailboxes } from '../db/schema/index.ts';
import { ConflictError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { DnsLookup } from '../providers/lookup/interface.ts';
import type { SecretOwner, Vault } from '../vault/vault.ts';
import type { WorkspaceAccess } from '../workspaces/access.ts';
import { credentialMailbox } from './app-passwords.ts';
import { resolveImportSource, type ImportSourcePolicy } from './import-source.ts';

export type ImportRow = typeof mailboxImports.$inferSelect;

export interface ImportDeps {
  database: Database;
  queue: JobQueue;
  vault: Vault;
  lookup: DnsLookup;
  policy: ImportSourcePolicy;
}

export interface ImportInput {
  host: string;
  port?: number | undefined;
  security?: 'imaps' | 'starttls' | undefined;
  username: string;
  password: string;
}

/** The old password's place in the vault, bound to its import row; gone once the run ends. */
export function importPasswordOwner(row: { id: string; workspaceId: string | null }): SecretOwner {
  return { table: 'mailbox_imports', id: row.id, workspaceId: row.workspaceId, purpose: 'import_password' };
}

export function presentImport(row: ImportRow) {
  return {
    id: row.id,
    mailboxId: row.mailboxId,
    status: row.status,
    source: { host: row.sourceHost, address: row.sourceAddress, port: row.sourcePort, security: row.sourceSecurity, username: row.sourceUser },
    progress: row.progress,
    folders: row.folders.map((f) => ({ name: f.name, messages: f.after, copied: f.copied })),
    messagesCopied: row.messagesCopied,
    simulated: row.simulated,
    error: row.error,
    requestedAt: row.requestedAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

export async function listImports(db: Db, access: WorkspaceAccess, serverId: string, mailboxId: string): Promise<ImportRow[]> {
  const { mailbox } = await credentialMailbox(db, access, serverId, mailboxId);
  return db
    .select()
    .from(mailboxImports)
    .where(eq(mailboxImports.mailboxId, mailbox.id))
    .orderBy(desc(mailboxImports.requestedAt), desc(mailboxImports.id))
    .limit(20);
}

export async function requestImport(
  deps: ImportDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  mailboxId: string,
  input: ImportInput,
): Promise<ImportRow> {
  const { db } = deps.database;
  const { server, mailbox } = await credentialMailbox(db, access, serverId, mailboxId);
  if (server.status !== 'ready') throw new ConflictError(`The server is ${server.status}; mail can be imported once it is ready`, 'server_not_ready');
  if (!mailbox.appliedAt) throw new ConflictError('The mailbox is not on the server yet; try again once it is', 'mailbox_not_applied');
  const port = input.port ?? (input.security === 'starttls' ? 143 : 993);
  const security = input.security ?? (port === 143 ? 'starttls' : 'imaps');
  // Resolved and judged now, so a refusal is the answer to this request (422) and nothing is stored.
  const source = await resolveImportSource(deps.lookup, deps.policy, input.host);
  return deps.database.db.transaction(async (tx) => {
    // One import at a time per mailbox: the lock serialises two requests racing past the check.
    await tx.select({ id: mailboxes.id }).from(mailboxes).where(eq(mailboxes.id, mailbox.id)).for('update');
    const [busy] = await tx
      .select({ id: mailboxImports.id })
      .from(mailboxImports)
      .where(and(eq(mailboxImports.mailboxId, mailbox.id), inArray(mailboxImports.status, ['queued', 'running'])));
    if (busy) throw new ConflictError('An import of this mailbox is already under way; wait until it ends', 'import_running');
    const [row] = await tx
      .insert(mailboxImports)
      .values({
        workspaceId: server.workspaceId,
        serverId: server.id,
        mailboxId: mailbox.id,
        address: mailbox.address,
        sourceHost: source.host,
        sourceAddress: source.address,
        sourcePort: port,
        sourceSecurity: security,
        sourceUser: input.username,
        progress: 'queued',
        requestedBy: actor.id,
      })
      .returning();
    await deps.vault.put(tx, importPasswordOwner(row!), input.password);
    await deps.queue.send('mailboxes.import', { importId: row!.id }, { tx, singletonKey: row!.id });
    await audit(tx, actor, {
      action: 'mailbox.import_requested',
      workspaceId: server.workspaceId,
      target: mailbox.id,
      details: { importId: row!.id, host: source.host, address: source.address, port, security, username: input.username },
    });
    return row!;
  });
}
