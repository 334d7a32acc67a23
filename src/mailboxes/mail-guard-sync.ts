/**
 * What the mailbox sync pushes for issue 23's mail guard: the app passwords of the active
 * mailboxes (not revoked, oldest first: the order decides each one's slot) and the domain's
 * junk score (the default when the customer never set one).
 */
import { and, asc, inArray, isNull, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { domainSpamSettings, mailboxAppPasswords, type AppPasswordScope } from '../db/schema/index.ts';
import { renderAppPasswordFiles, renderSpamSettings } from '../mailstack/mail-guard-files.ts';
import type { RenderedFile } from '../mailstack/render.ts';

export const DEFAULT_JUNK_SCORE = 6;

export async function mailGuardFiles(
  db: Db,
  server: { id: string; domain: string },
  active: readonly { id: string; localPart: string }[],
): Promise<RenderedFile[]> {
  const localPartOf = new Map(active.map((m) => [m.id, m.localPart]));
  const rows =
    active.length === 0
      ? []
      : await db
          .select()
          .from(mailboxAppPasswords)
          .where(and(inArray(mailboxAppPasswords.mailboxId, [...localPartOf.keys()]), isNull(mailboxAppPasswords.revokedAt)))
          .orderBy(asc(mailboxAppPasswords.createdAt), asc(mailboxAppPasswords.id));
  const [settings] = await db.select().from(domainSpamSettings).where(eq(domainSpamSettings.serverId, server.id));
  return [
    ...renderAppPasswordFiles(
      server.domain,
      rows.map((r) => ({
        id: r.id,
        localPart: localPartOf.get(r.mailboxId)!,
        scopes: r.scopes as AppPasswordScope[],
        passwordHash: r.passwordHash,
      })),
    ),
    renderSpamSettings(server.domain, settings?.junkScore ?? DEFAULT_JUNK_SCORE),
  ];
}
