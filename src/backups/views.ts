/**
 * What the API and the dashboard show of a server's backups: the latest one, its
 * age and size, the recent runs, the next scheduled backup and the latest drill;
 * and "back up now", which queues a backup job (the API never runs one inside a
 * request).
 */
import { and, desc, eq } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Database, Db } from '../db/client.ts';
import { backupDrills, backupRepositories, backupRestores, backupRuns } from '../db/schema/index.ts';
import { ConflictError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { ServerRow } from '../../provisioning/context.ts';
import { BACKED_UP_STATUSES, nextScheduledBackup } from './schedule.ts';
import type { Clock } from '../clock.ts';

export interface BackupViewDeps {
  db: Db;
  /** false: no object storage configured; nothing is backed up and the view says so. */
  storageConfigured: boolean;
  /** Emulated sandbox hosts: their backups are simulated and never drilled. */
  simulated: boolean;
  clock: Clock;
}

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

function runView(r: typeof backupRuns.$inferSelect) {
  const mailboxes = r.manifest ? Object.values(r.manifest.mailboxes) : [];
  return {
    id: r.id,
    reason: r.reason,
    status: r.status,
    startedAt: r.startedAt.toISOString(),
    finishedAt: iso(r.finishedAt),
    durationMs: r.durationMs,
    snapshotId: r.resticSnapshotId,
    sizeBytes: r.sizeBytes,
    dataAddedBytes: r.dataAddedBytes,
    files: r.files,
    messages: r.manifest ? mailboxes.reduce((n, box) => n + Object.values(box).reduce((m, f) => m + f.count, 0), 0) : null,
    simulated: r.simulated,
    error: r.error,
  };
}

function drillView(d: typeof backupDrills.$inferSelect) {
  return {
    id: d.id,
    status: d.status,
    startedAt: d.startedAt.toISOString(),
    finishedAt: iso(d.finishedAt),
    snapshotId: d.resticSnapshotId,
    messagesCompared: d.messagesCompared,
    error: d.error,
    details: d.details,
  };
}

export function restoreView(r: typeof backupRestores.$inferSelect) {
  return {
    id: r.id,
    mailboxId: r.mailboxId,
    address: r.address,
    backupId: r.backupRunId,
    snapshotId: r.resticSnapshotId,
    folder: r.folder,
    targetFolder: r.targetFolder,
    status: r.status,
    restoredMessages: r.restoredMessages,
    simulated: r.simulated,
    error: r.error,
    requestedAt: r.requestedAt.toISOString(),
    finishedAt: iso(r.finishedAt),
  };
}

export async function backupOverview(deps: BackupViewDeps, server: ServerRow) {
  const now = deps.clock.now();
  const [repo] = await deps.db.select().from(backupRepositories).where(eq(backupRepositories.serverId, server.id));
  const runs = await deps.db.select().from(backupRuns).where(eq(backupRuns.serverId, server.id)).orderBy(desc(backupRuns.startedAt)).limit(30);
  const [lastOk] = await deps.db
    .select()
    .from(backupRuns)
    .where(and(eq(backupRuns.serverId, server.id), eq(backupRuns.status, 'succeeded')))
    .orderBy(desc(backupRuns.finishedAt))
    .limit(1);
  const [drill] = await deps.db.select().from(backupDrills).where(eq(backupDrills.serverId, server.id)).orderBy(desc(backupDrills.startedAt)).limit(1);
  const restores = await deps.db
    .select()
    .from(backupRestores)
    .where(eq(backupRestores.serverId, server.id))
    .orderBy(desc(backupRestores.requestedAt))
    .limit(10);
  const scheduled = deps.storageConfigured && (BACKED_UP_STATUSES as readonly string[]).includes(server.status) && !repo?.deletedAt;
  return {
    configured: deps.storageConfigured,
    simulated: deps.simulated,
    lastSuccess: lastOk ? runView(lastOk) : null,
    lastSuccessAgeSeconds: lastOk?.finishedAt ? Math.max(0, Math.round((now - lastOk.finishedAt.getTime()) / 1000)) : null,
    nextScheduledAt: scheduled ? nextScheduledBackup(server.id, now).toISOString() : null,
    runs: runs.map(runView),
    lastDrill: drill ? drillView(drill) : null,
    restores: restores.map(restoreView),
    repository: repo
      ? {
          region: repo.region,
          bucket: repo.bucket,
          createdAt: repo.createdAt.toISOString(),
          lastCheck: repo.lastCheckStatus ? { status: repo.lastCheckStatus, at: iso(repo.lastMaintenanceAt) } : null,
          deleteAfter: iso(repo.deleteAfter),
          deletedAt: iso(repo.deletedAt),
        }
      : null,
  };
}

export type BackupOverview = Awaited<ReturnType<typeof backupOverview>>;

/** Queues a backup of a live server now; false when one is queued already. Audited. */
export async function requestBackup(
  deps: { database: Database; queue: JobQueue; storageConfigured: boolean },
  actor: Actor,
  server: ServerRow,
): Promise<boolean> {
  if (!deps.storageConfigured) throw new ConflictError('No backup storage is configured', 'backups_unavailable');
  if (!(BACKED_UP_STATUSES as readonly string[]).includes(server.status)) {
    throw new ConflictError(`The server is ${server.status}; backups run on a ready server`, 'server_not_ready');
  }
  return deps.database.db.transaction(async (tx) => {
    const jobId = await deps.queue.send('backups.run', { serverId: server.id, reason: 'manual' }, { tx, singletonKey: `${server.id}:manual` });
    await audit(tx, actor, { action: 'server.backup_requested', workspaceId: server.workspaceId, target: server.id });
    return jobId !== null;
  });
}
