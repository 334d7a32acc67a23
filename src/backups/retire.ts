/**
 * The end of a server's backups. Deprovisioning keeps the final backup for a
 * grace period (a cancelled customer can come back): the server's credential is
 * revoked and the repository gets a date after which the `backups.expire` job
 * deletes it. GDPR erasure deletes at once. Deleting is only done once the storage
 * counts no object version left, and that moment is recorded: it is when the last
 * copy of the server's mail ceased to exist.
 */
import { eq } from 'drizzle-orm';
import { backupRepositories } from '../db/schema/index.ts';
import { AppError } from '../errors.ts';
import type { StorageRegion } from '../providers/storage/interface.ts';
import type { BackupDeps } from './deps.ts';
import { storageOf } from './repository.ts';

export async function keepFinalBackup(deps: BackupDeps, serverId: string): Promise<Date | null> {
  const [repo] = await deps.database.db.select().from(backupRepositories).where(eq(backupRepositories.serverId, serverId));
  if (!repo || repo.deletedAt) return null;
  const region = repo.region as StorageRegion;
  if (!repo.credentialsRevokedAt) await storageOf(deps).revokeServerCredentials({ serverId, region });
  const deleteAfter = repo.deleteAfter ?? new Date(deps.clock.now() + deps.settings.graceDays * 86_400_000);
  await deps.database.db
    .update(backupRepositories)
    .set({ credentialsRevokedAt: repo.credentialsRevokedAt ?? new Date(deps.clock.now()), deleteAfter })
    .where(eq(backupRepositories.serverId, serverId));
  return deleteAfter;
}

/** Deletes every version of every object and the bucket; resolves to when nothing of it was left. */
export async function deleteBackups(deps: BackupDeps, serverId: string): Promise<Date | null> {
  const [repo] = await deps.database.db.select().from(backupRepositories).where(eq(backupRepositories.serverId, serverId));
  if (!repo) return null;
  if (repo.deletedAt) return repo.deletedAt;
  const storage = storageOf(deps);
  const region = repo.region as StorageRegion;
  await storage.revokeServerCredentials({ serverId, region });
  await storage.deleteRepository({ serverId, region });
  const left = await storage.countObjectVersions({ serverId, region });
  if (left > 0) {
    throw new AppError({
      code: 'backups_not_deleted',
      status: 503,
      title: 'Backups not deleted yet',
      detail: `${left} object version(s) still in the bucket`,
      retryable: true,
    });
  }
  const gone = new Date(deps.clock.now());
  await deps.database.db
    .update(backupRepositories)
    .set({ deletedAt: gone, credentialsRevokedAt: repo.credentialsRevokedAt ?? gone })
    .where(eq(backupRepositories.serverId, serverId));
  deps.log.info({ serverId, at: gone.toISOString() }, 'backups deleted: no copy left');
  return gone;
}
