/**
 * "Your server is ready" and "action needed" mails. Run by the minute sweep
 * rather than from inside provisioning steps: the steps stay about providers,
 * and server_notices' primary key makes each notice go out once whichever
 * worker claims it first (the insert is the claim).
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { memberships, serverNotices, servers, users } from '../db/schema/index.ts';
import { currentWaits } from '../servers/waits.ts';
import type { Logger } from '../log.ts';
import { sendBestEffort, type Mailer } from './mailer.ts';
import { actionNeededMessage, serverReadyMessage } from './messages.ts';

export interface NoticeDeps {
  db: Db;
  mailer: Mailer;
  log: Logger;
  publicUrl: string;
}

async function claim(db: Db, serverId: string, kind: string): Promise<boolean> {
  const rows = await db.insert(serverNotices).values({ serverId, kind }).onConflictDoNothing().returning({ kind: serverNotices.kind });
  return rows.length > 0;
}

/** The addresses of the workspace's owners and admins: who hears about its servers and billing. */
export async function managers(db: Db, workspaceId: string): Promise<string[]> {
  const rows = await db
    .select({ email: users.email })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.workspaceId, workspaceId), inArray(memberships.role, ['owner', 'admin'])));
  return rows.map((r) => r.email);
}

export async function sendServerNotices(deps: NoticeDeps): Promise<number> {
  let sent = 0;
  const ready = await deps.db
    .select()
    .from(servers)
    .where(and(eq(servers.status, 'ready'), sql`not exists (select 1 from server_notices n where n.server_id = ${servers.id} and n.kind = 'ready')`))
    .limit(200);
  for (const s of ready) {
    if (!(await claim(deps.db, s.id, 'ready'))) continue;
    const to = await managers(deps.db, s.workspaceId);
    if (
      to.length &&
      (await sendBestEffort(
        deps.mailer,
        deps.log,
        serverReadyMessage(to, { domain: s.domain, hostname: s.hostname, link: `${deps.publicUrl}/w/${s.workspaceId}/servers/${s.id}` }),
      ))
    )
      sent++;
  }
  // Provisioning parked on the customer's move (nameservers, …): one mail per wait reason.
  const waiting = await deps.db.select().from(servers).where(eq(servers.status, 'waiting')).limit(200);
  for (const s of waiting) {
    for (const w of (await currentWaits(deps.db, s.id)).filter((x) => x.party === 'customer')) {
      if (!(await claim(deps.db, s.id, `wait:${w.code}`))) continue;
      const to = await managers(deps.db, s.workspaceId);
      if (
        to.length &&
        (await sendBestEffort(
          deps.mailer,
          deps.log,
          actionNeededMessage(to, { domain: s.domain, what: `${w.message} ${w.action}`, link: `${deps.publicUrl}/w/${s.workspaceId}/servers/${s.id}` }),
        ))
      )
        sent++;
    }
  }
  const warned = await deps.db
    .select()
    .from(servers)
    .where(and(inArray(servers.status, ['provisioning', 'ready', 'failed']), sql`jsonb_array_length(${servers.warnings}) > 0`))
    .limit(200);
  for (const s of warned) {
    for (const w of s.warnings) {
      if (!(await claim(deps.db, s.id, `action:${w.code}`))) continue;
      const to = await managers(deps.db, s.workspaceId);
      if (
        to.length &&
        (await sendBestEffort(
          deps.mailer,
          deps.log,
          actionNeededMessage(to, { domain: s.domain, what: w.message, link: `${deps.publicUrl}/w/${s.workspaceId}/servers/${s.id}/dns` }),
        ))
      )
        sent++;
    }
  }
  return sent;
}
