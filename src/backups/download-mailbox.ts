/**
 * Download a mailbox (restore way 3): its Maildir from a chosen snapshot, as a tar.gz,
 * for a customer who is leaving or wants their own copy.
 *
 * Maildir rather than mbox: every message file comes out byte for byte as the server
 * stored it (mbox would escape "From " lines and drop the flags kept in file names), so
 * the archive can be checked against the backup's manifest and imported by any Maildir
 * server or client (Dovecot, mutt, Thunderbird's ImportExportTools).
 *
 * Made on the control plane with the admin key, as the drills are, not on the server:
 * the server may be lost or already deprovisioned (a leaving customer's final backup is
 * kept for the grace period), its key never leaves it, and no copy of the mail is
 * written to its disk. Nothing is written to the control plane's disk either: the
 * archive is `restic dump --archive tar` gzipped on its way to the client. The link is
 * the row: it works once, for DOWNLOAD_TTL_MS, for the owners and admins who may ask.
 */
import { PassThrough, pipeline, Transform, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { and, eq, gt, isNull } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Database } from '../db/client.ts';
import { backupRepositories, backupRuns, mailboxDownloads } from '../db/schema/index.ts';
import { AppError, ConflictError, NotFoundError } from '../errors.ts';
import type { BackupDeps } from './deps.ts';
import { MAIL_ROOT } from './drill.ts';
import { adminTarget } from './repository.ts';
import { ResticError, resticStream } from './restic.ts';
import type { Clock } from '../clock.ts';

export const DOWNLOAD_TTL_MS = 15 * 60_000;
export type DownloadRow = typeof mailboxDownloads.$inferSelect;

export interface DownloadRequest {
  server: { id: string; workspaceId: string };
  mailbox: { id: string; address: string };
  backupId: string;
}

export async function requestMailboxDownload(deps: { database: Database; clock: Clock }, actor: Actor, req: DownloadRequest): Promise<DownloadRow> {
  const { db } = deps.database;
  if (!/^[0-9a-f-]{36}$/i.test(req.backupId)) throw new NotFoundError('Backup');
  const [run] = await db
    .select()
    .from(backupRuns)
    .where(and(eq(backupRuns.id, req.backupId), eq(backupRuns.serverId, req.server.id), eq(backupRuns.status, 'succeeded')));
  if (!run?.resticSnapshotId) throw new NotFoundError('Backup');
  if (run.simulated)
    throw new ConflictError('This backup is simulated (an emulated sandbox host ran no restic): it holds no mail to download', 'backup_simulated');
  const [repo] = await db.select().from(backupRepositories).where(eq(backupRepositories.serverId, req.server.id));
  if (!repo || repo.deletedAt) throw new ConflictError("The server's backups were deleted", 'backups_deleted');
  if (!run.manifest?.mailboxes[req.mailbox.address]) throw new NotFoundError('Mailbox in this backup');
  const [local, domain] = req.mailbox.address.split('@') as [string, string];
  const now = deps.clock.now();
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(mailboxDownloads)
      .values({
        serverId: req.server.id,
        mailboxId: req.mailbox.id,
        address: req.mailbox.address,
        backupRunId: run.id,
        resticSnapshotId: run.resticSnapshotId!,
        snapshotPath: `${run.manifest!.root ?? MAIL_ROOT}/${domain}/${local}/Maildir`,
        requestedBy: actor.id,
        requestedAt: new Date(now),
        expiresAt: new Date(now + DOWNLOAD_TTL_MS),
      })
      .returning();
    await audit(tx, actor, {
      action: 'mailbox.download_requested',
      workspaceId: req.server.workspaceId,
      target: req.mailbox.id,
      details: { downloadId: row!.id, snapshot: run.resticSnapshotId },
    });
    return row!;
  });
}

const gone = (detail: string) => new AppError({ code: 'download_link_gone', status: 410, title: 'Gone', detail });

/** Marks the link used, once: two fetches at the same moment cannot both win the update. */
export async function claimMailboxDownload(db: Database['db'], serverId: string, downloadId: string, now: number): Promise<DownloadRow> {
  if (!/^[0-9a-f-]{36}$/i.test(downloadId)) throw new NotFoundError('Download');
  const [claimed] = await db
    .update(mailboxDownloads)
    .set({ usedAt: new Date(now) })
    .where(
      and(
        eq(mailboxDownloads.id, downloadId),
        eq(mailboxDownloads.serverId, serverId),
        isNull(mailboxDownloads.usedAt),
        gt(mailboxDownloads.expiresAt, new Date(now)),
      ),
    )
    .returning();
  if (claimed) return claimed;
  const [row] = await db
    .select()
    .from(mailboxDownloads)
    .where(and(eq(mailboxDownloads.id, downloadId), eq(mailboxDownloads.serverId, serverId)));
  if (!row) throw new NotFoundError('Download');
  throw gone(row.usedAt ? 'This download link was already used: ask for a new one' : 'This download link expired: ask for a new one');
}

/**
 * The archive as a stream. Waits for restic's first bytes (or its failure) before
 * answering, so a snapshot that cannot be read is a clear error, not an empty file; a
 * failure later errors the stream, so the client never gets a truncated archive that
 * looks complete.
 */
export async function streamMailboxArchive(deps: BackupDeps, server: { id: string; workspaceId: string }, row: DownloadRow): Promise<Readable> {
  const { db } = deps.database;
  const [repo] = await db.select().from(backupRepositories).where(eq(backupRepositories.serverId, server.id));
  if (!repo || repo.deletedAt) throw new ConflictError("The server's backups were deleted", 'backups_deleted');
  const dump = resticStream(await adminTarget(deps, server, repo), ['dump', '--archive', 'tar', row.resticSnapshotId, row.snapshotPath], {
    binary: deps.settings.resticBinary,
  });
  const failed = (code: number | null) => new ResticError('dump', code, dump.stderr());
  const stdout = dump.stdout as Readable;
  const started = await new Promise<true | Error>((resolve) => {
    // 'readable' also fires at the end of an empty output: only bytes count as a start.
    const onReadable = () => {
      if (stdout.readableLength > 0) finish(true);
    };
    const finish = (value: true | Error) => {
      stdout.off('readable', onReadable);
      resolve(value);
    };
    stdout.on('readable', onReadable);
    dump.exited.then(
      (code) => finish(code === 0 ? true : failed(code)),
      (err: Error) => finish(err),
    );
  });
  if (started !== true) {
    await db
      .update(mailboxDownloads)
      .set({ finishedAt: new Date(deps.clock.now()), error: started.message.slice(0, 2000) })
      .where(eq(mailboxDownloads.id, row.id));
    throw started;
  }
  let bytes = 0;
  // Ends only once restic exited 0: a dump cut short must not end as a valid gzip.
  const counted = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      dump.exited.then((code) => done(code === 0 ? null : failed(code)), done);
    },
  });
  const out = new PassThrough();
  pipeline(stdout, createGzip(), counted, out, (err) => {
    if (err) dump.kill();
    void db
      .update(mailboxDownloads)
      .set({ finishedAt: new Date(deps.clock.now()), bytes, error: err ? err.message.slice(0, 2000) : null })
      .where(eq(mailboxDownloads.id, row.id))
      .catch((e: unknown) => deps.log.error({ err: e, downloadId: row.id }, 'recording the download failed'));
    deps.log.info({ serverId: server.id, downloadId: row.id, bytes, ok: !err }, 'mailbox download finished');
  });
  return out;
}

export const archiveName = (row: DownloadRow) => `${row.address.replace('@', '_at_')}-${row.resticSnapshotId.slice(0, 8)}.maildir.tar.gz`;
