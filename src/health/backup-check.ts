/**
 * "Last successful backup less than 26 hours ago": a daily backup with two hours
 * of slack. A server younger than that with no backup attempted yet is not late;
 * one whose every attempt failed is, whatever its age. A simulated backup (the
 * sandbox's emulated hosts) counts, and the summary says it was simulated.
 */
import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { backupRuns } from '../db/schema/index.ts';
import { result, type CheckResult } from './check-types.ts';
import type { DnsFacts } from './dns-checks.ts';

export const BACKUP_MAX_AGE_HOURS = 26;

const hoursAgo = (ms: number) => {
  const hours = ms / 3_600_000;
  return hours < 1 ? `${Math.max(1, Math.round(ms / 60_000))} min ago` : `${hours.toFixed(1)} h ago`;
};

export async function backupCheck(db: Db, f: DnsFacts, now: Date, configured = true): Promise<CheckResult> {
  if (!configured)
    return result(
      'backups',
      'warn',
      'This installation has no backup storage configured: the server is not backed up.',
      'Ask the operator of this installation to configure object storage for backups.',
    );
  const [lastOk] = await db
    .select()
    .from(backupRuns)
    .where(and(eq(backupRuns.serverId, f.server.id), eq(backupRuns.status, 'succeeded')))
    .orderBy(desc(backupRuns.finishedAt))
    .limit(1);
  const [last] = await db.select().from(backupRuns).where(eq(backupRuns.serverId, f.server.id)).orderBy(desc(backupRuns.startedAt)).limit(1);
  const limitMs = BACKUP_MAX_AGE_HOURS * 3_600_000;
  const action = 'Our operations team is alerted when backups fail; ask support if this lasts, or start a backup from the Backups page.';
  if (lastOk?.finishedAt) {
    const age = now.getTime() - lastOk.finishedAt.getTime();
    const details = { lastSuccessAt: lastOk.finishedAt.toISOString(), snapshot: lastOk.resticSnapshotId, simulated: lastOk.simulated };
    const what = `Last successful backup ${hoursAgo(age)}${lastOk.simulated ? ' (simulated: emulated sandbox host)' : ''}.`;
    return age <= limitMs
      ? result('backups', 'pass', what, null, details)
      : result('backups', 'fail', `${what} That is more than ${BACKUP_MAX_AGE_HOURS} hours.`, action, details);
  }
  if (last && last.status === 'failed') {
    return result('backups', 'fail', 'No backup has succeeded yet; the last attempt failed.', action, { lastAttemptAt: last.startedAt.toISOString() });
  }
  const age = now.getTime() - f.server.createdAt.getTime();
  if (age <= limitMs)
    return result('backups', 'pass', 'No backup is due yet: the server is new and its first backup is scheduled.', null, { firstBackupPending: true });
  return result('backups', 'fail', `No backup in the ${BACKUP_MAX_AGE_HOURS} hours since the server was created.`, action);
}
