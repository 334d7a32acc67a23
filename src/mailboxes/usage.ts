/**
 * The `mailboxes.collect_usage` job: reads from the server what only it knows about the
 * mailboxes (mailbox-usage.sh): the storage each one uses (Dovecot's quota) and when, from
 * where and for which service each app password was last used. An emulated host answers
 * the same lines with no mail stored and no login seen (src/sandbox/ssh/scripts.ts).
 * A sweep queues one collection per ready server every 15 minutes.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { isIP } from 'node:net';
import { mailboxAppPasswords, mailboxes, servers } from '../db/schema/index.ts';
import type { ProvisioningDeps } from '../../provisioning/context.ts';
import { runScript, withSession } from '../../provisioning/remote.ts';

export const COLLECT_USAGE_CRON = '*/15 * * * *';

export interface UsageReport {
  quota: Map<string, number>;
  appPasswords: Map<string, { at: Date; ip: string | null; service: string | null }>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Lines that do not have the script's shapes are ignored, never trusted. */
export function parseUsageReport(stdout: string): UsageReport {
  const report: UsageReport = { quota: new Map(), appPasswords: new Map() };
  for (const line of stdout.split('\n')) {
    const f = line.trim().split(' ');
    if (f[0] === 'quota' && f.length === 3 && /^[^@\s]+@[^@\s]+$/.test(f[1]!) && /^\d{1,15}$/.test(f[2]!)) {
      report.quota.set(f[1]!.toLowerCase(), Number(f[2]));
    } else if (f[0] === 'app-password' && f.length === 5 && UUID.test(f[1]!) && /^\d{1,12}$/.test(f[2]!)) {
      report.appPasswords.set(f[1]!, {
        at: new Date(Number(f[2]) * 1000), ip: isIP(f[3]!) ? f[3]! : null, service: /^[a-z-]{1,20}$/.test(f[4]!) ? f[4]! : null,
      });
    }
  }
  return report;
}

export async function collectMailboxUsage(deps: ProvisioningDeps, job: { serverId: string }): Promise<'collected' | 'skipped'> {
  const { db } = deps.database;
  const [server] = await db.select().from(servers).where(eq(servers.id, job.serverId));
  if (!server || server.status !== 'ready') return 'skipped';
  const stdout = await withSession(deps, server, (session) => runScript(session, 'mailbox-usage.sh', () => {}));
  const report = parseUsageReport(stdout);
  const now = new Date(deps.clock.now());
  const rows = await db.select({ id: mailboxes.id, address: mailboxes.address }).from(mailboxes).where(eq(mailboxes.serverId, server.id));
  await db.transaction(async (tx) => {
    for (const row of rows) {
      const used = report.quota.get(row.address.toLowerCase());
      if (used !== undefined) await tx.update(mailboxes).set({ usedBytes: used, usageCollectedAt: now }).where(eq(mailboxes.id, row.id));
    }
    const ids = [...report.appPasswords.keys()];
    const known = ids.length === 0 || rows.length === 0 ? [] : await tx.select({ id: mailboxAppPasswords.id }).from(mailboxAppPasswords)
      .where(and(inArray(mailboxAppPasswords.id, ids), inArray(mailboxAppPasswords.mailboxId, rows.map((r) => r.id))));
    for (const { id } of known) {
      const use = report.appPasswords.get(id)!;
      await tx.update(mailboxAppPasswords).set({ lastUsedAt: use.at, lastUsedIp: use.ip, lastUsedService: use.service }).where(eq(mailboxAppPasswords.id, id));
    }
  });
  return 'collected';
}

/** Queues one collection per ready server (the sweep). */
export async function queueUsageCollections(deps: ProvisioningDeps): Promise<number> {
  const ready = await deps.database.db.select({ id: servers.id }).from(servers).where(eq(servers.status, 'ready'));
  for (const { id } of ready) await deps.queue.send('mailboxes.collect_usage', { serverId: id }, { singletonKey: id });
  return ready.length;
}
