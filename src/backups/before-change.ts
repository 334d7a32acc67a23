/**
 * `backupBeforeChange`: what every operation that changes a running server calls
 * first (a re-run of install_mail_stack or harden on a ready server, an IP
 * rotation, a rollout). A successful backup younger than BACKUP_FRESH_MINUTES is
 * enough (a rotation re-runs install and harden back to back); otherwise one is
 * taken now. A backup that fails stops the change: the step fails retryably and
 * says why, rather than changing a server whose mail has no recent copy.
 */
import { eq } from 'drizzle-orm';
import { backupRepositories } from '../db/schema/index.ts';
import { AppError } from '../errors.ts';
import type { BackupDeps } from './deps.ts';
import { lastSuccessfulBackup, runBackup } from './run-backup.ts';

export type BeforeChangeResult =
  | { outcome: 'taken'; runId: string; snapshotId: string | null }
  | { outcome: 'fresh'; runId: string; finishedAt: string }
  | { outcome: 'skipped'; why: string };

export class BackupBeforeChangeError extends AppError {
  constructor(reason: string, cause: unknown) {
    super({
      code: 'backup_before_change_failed',
      status: 503,
      title: 'Backup before the change failed',
      detail: `no backup could be taken before ${reason}: ${cause instanceof Error ? cause.message : String(cause)}`,
      retryable: true,
      cause,
    });
  }
}

export async function backupBeforeChange(deps: BackupDeps, serverId: string, reason: string): Promise<BeforeChangeResult> {
  if (!deps.storage) return { outcome: 'skipped', why: 'no backup storage is configured' };
  const [repo] = await deps.database.db
    .select({ deletedAt: backupRepositories.deletedAt })
    .from(backupRepositories)
    .where(eq(backupRepositories.serverId, serverId));
  if (repo?.deletedAt) return { outcome: 'skipped', why: "the server's backups were deleted" };
  const since = new Date(deps.clock.now() - deps.settings.freshMinutes * 60_000);
  const recent = await lastSuccessfulBackup(deps, serverId, since);
  if (recent) return { outcome: 'fresh', runId: recent.id, finishedAt: recent.finishedAt!.toISOString() };
  try {
    const run = await runBackup(deps, serverId, `before:${reason}`);
    return { outcome: 'taken', runId: run.id, snapshotId: run.resticSnapshotId };
  } catch (err) {
    throw new BackupBeforeChangeError(reason, err);
  }
}
