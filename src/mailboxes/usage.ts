/**
 * The `mailboxes.collect_usage` job: reads from the server what only it knows about the
 * mailboxes (mailbox-usage.sh): the storage each one uses (Dovecot's quota) and when, from
 * where and for which service each app password was last used. An emulated host answers
 * the same lines with no mail stored and no login seen (src/sandbox/ssh/scripts.ts).
 * Every ready server is collected every 15 minutes, at its own point of the interval: a minute
 * sweep claims the servers whose time has come (server_schedules, src/jobs/due-sweep.ts) and queues
 * them in one insert. (Queuing the whole fleet at a quarter past, one send each, was 10,000
 * statements in one job and 10,000 SSH sessions waiting for four slots at 10,000 servers.)
 */
import { and, eq, inArray } from 'drizzle-orm';
import { isIP } from 'node:net';
import { mailboxAppPasswords, mailboxes, servers } from '../db/schema/index.ts';
import { claimDue } from '../jobs/due-sweep.ts';
import type { ProvisioningDeps } from '../../provisioning/context.ts';
import { runScript, withSession } from '../../provisioning/remote.ts';

/** The sweep runs every minute; each server is collected every USAGE_INTERVAL_MINUTES. */
export const COLLECT_USAGE_CRON = '* * * * *';
export const USAGE_INTERVAL_MINUTES = 15;
/** At most this many queued a minute: 10,000 servers every 15 minutes need about 670. */
export const USAGE_SWEEP_LIMIT = 2_000;

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
        at: new Date(Number(f[2]) * 1000),
        ip: isIP(f[3]!) ? f[3]! : null,
        service: /^[a-z-]{1,20}$/.test(f[4]!) ? f[4]! : null,
      });
    }
  }
  return report;
}

export async function collectMailboxUsage(deps: ProvisioningDeps, job: { serverId: string }): Promise<'collected' | 'skipped'> {
  const { db } = deps.database;
  const [server] = await db.select().from(servers).where(eq(servers.id, job.serverId));
  if (server?.status !== 'ready') return 'skipped';
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
    const known =
      ids.length === 0 || rows.length === 0
        ? []
        : await tx
            .select({ id: mailboxAppPasswords.id })
            .from(mailboxAppPasswords)
            .where(
              and(
                inArray(mailboxAppPasswords.id, ids),
                inArray(
                  mailboxAppPasswords.mailboxId,
                  rows.map((r) => r.id),
                ),
              ),
            );
    for (const { id } of known) {
      const use = report.appPasswords.get(id)!;
      await tx.update(mailboxAppPasswords).set({ lastUsedAt: use.at, lastUsedIp: use.ip, lastUsedService: use.service }).where(eq(mailboxAppPasswords.id, id));
    }
  });
  return 'collected';
}

/** Queues the collections that are due (the minute sweep): one claim, one insert. */
export async function queueUsageCollections(deps: Pick<ProvisioningDeps, 'database' | 'queue' | 'clock'>): Promise<number> {
  const due = await claimDue(deps.database.db, {
    kind: 'usage',
    statuses: ['ready'],
    intervalMinutes: USAGE_INTERVAL_MINUTES,
    now: new Date(deps.clock.now()),
    limit: USAGE_SWEEP_LIMIT,
  });
  await deps.queue.sendMany(
    'mailboxes.collect_usage',
    due.map((serverId) => ({ data: { serverId }, singletonKey: serverId })),
  );
  return due.length;
}
