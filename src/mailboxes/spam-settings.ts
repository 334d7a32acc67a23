/**
 * The domain's junk score (issue 23): from this Rspamd score, mail for the domain is marked
 * "X-Spam: Yes" and Sieve files it into Junk. Pushed with the mailbox set by the sync job.
 */
import { eq } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Db } from '../db/client.ts';
import { domainSpamSettings } from '../db/schema/index.ts';
import { ConflictError } from '../errors.ts';
import { findServer } from '../servers/views.ts';
import type { WorkspaceAccess } from '../workspaces/access.ts';
import { DEFAULT_JUNK_SCORE } from './mail-guard-sync.ts';
import { enqueueSync, type MailboxDeps } from './service.ts';

export interface SpamSettingsView {
  domain: string;
  junkScore: number;
  isDefault: boolean;
  updatedAt: string | null;
}

export async function getSpamSettings(db: Db, access: WorkspaceAccess, serverId: string): Promise<SpamSettingsView> {
  const server = await findServer(db, serverId, access.workspaceId);
  const [row] = await db.select().from(domainSpamSettings).where(eq(domainSpamSettings.serverId, server.id));
  return { domain: server.domain, junkScore: row?.junkScore ?? DEFAULT_JUNK_SCORE, isDefault: !row, updatedAt: row?.updatedAt.toISOString() ?? null };
}

export async function setJunkScore(deps: MailboxDeps, actor: Actor, access: WorkspaceAccess, serverId: string, junkScore: number): Promise<SpamSettingsView> {
  const server = await findServer(deps.database.db, serverId, access.workspaceId);
  if (server.status !== 'ready') throw new ConflictError(`The server is ${server.status}; its spam settings can be changed once it is ready`);
  const score = Math.round(junkScore * 10) / 10;
  const row = await deps.database.db.transaction(async (tx) => {
    const now = new Date(deps.clock.now());
    const [saved] = await tx
      .insert(domainSpamSettings)
      .values({ serverId: server.id, junkScore: score, updatedAt: now })
      .onConflictDoUpdate({ target: domainSpamSettings.serverId, set: { junkScore: score, updatedAt: now } })
      .returning();
    await audit(tx, actor, { action: 'server.spam_settings', workspaceId: server.workspaceId, target: server.id, details: { junkScore: score } });
    await enqueueSync(deps.queue, tx, server.id);
    return saved!;
  });
  return { domain: server.domain, junkScore: row.junkScore, isDefault: false, updatedAt: row.updatedAt.toISOString() };
}
