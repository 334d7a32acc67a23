/**
 * Single-use webmail login links. The token (format in
 * src/mailstack/webmail-token.ts) is signed with the server's own HMAC key
 * from the vault and lives 60 s at most; the server's verifier accepts each
 * nonce once. mailplane keeps only the nonce's hash (who was given a link,
 * when) and issues no cookie of its own.
 */
import { createHash, randomBytes } from 'node:crypto';
import { audit, type Actor } from '../audit.ts';
import { webmailLogins } from '../db/schema/index.ts';
import { ConflictError, ForbiddenError } from '../errors.ts';
import { signWebmailToken, webmailLoginUrl, WEBMAIL_TOKEN_MAX_TTL_SECONDS } from '../mailstack/webmail-token.ts';
import { findServer } from '../servers/views.ts';
import type { WorkspaceAccess } from '../workspaces/access.ts';
import { findMailbox, type MailboxDeps } from './service.ts';

export async function issueWebmailLogin(
  deps: MailboxDeps,
  actor: Actor,
  access: WorkspaceAccess,
  serverId: string,
  mailboxId: string,
): Promise<{ url: string; expiresAt: string }> {
  const { db } = deps.database;
  const server = await findServer(db, serverId, access.workspaceId);
  if (server.status !== 'ready') throw new ConflictError(`The server is ${server.status}; webmail opens once it is ready`);
  const mailbox = await findMailbox(db, server.id, mailboxId);
  // Webmail is the mailbox itself: owners and admins (who may export its password anyway) or
  // the member it is assigned to. Anyone else in the workspace sees it listed, nothing more.
  const principal = access.principal;
  if (access.role === 'member' && !(principal.kind === 'user' && mailbox.assigneeUserId === principal.userId)) {
    throw new ForbiddenError('Members can open the webmail of the mailboxes assigned to them only');
  }
  // The server must know the mailbox, or the link would open a login that fails.
  if (mailbox.appliedVersion === 0) throw new ConflictError('The mailbox is not on the server yet; try again in a moment');

  const now = new Date(deps.clock.now());
  const nonce = randomBytes(18).toString('base64url');
  const key = await deps.vault.get(db, { table: 'servers', id: server.id, workspaceId: server.workspaceId, purpose: 'webmail_hmac_key' });
  const token = signWebmailToken({ key, mailbox: mailbox.address, nonce, ttlSeconds: WEBMAIL_TOKEN_MAX_TTL_SECONDS, now });
  const expiresAt = new Date(Math.floor(now.getTime() / 1000) * 1000 + WEBMAIL_TOKEN_MAX_TTL_SECONDS * 1000);
  await db.transaction(async (tx) => {
    await tx.insert(webmailLogins).values({
      mailboxId: mailbox.id,
      nonceHash: createHash('sha256').update(nonce).digest('hex'),
      issuedTo: actor.id,
      expiresAt,
    });
    await audit(tx, actor, { action: 'mailbox.webmail_login', workspaceId: server.workspaceId, target: mailbox.id });
  });
  return { url: deps.webmailUrl?.(server, token) ?? webmailLoginUrl(server.domain, token), expiresAt: expiresAt.toISOString() };
}
