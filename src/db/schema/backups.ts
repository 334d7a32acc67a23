/**
 * Backups (src/backups): one restic repository per server, each backup run with
 * the manifest the server wrote before it, and the restore drills that compared
 * a restored snapshot with that manifest.
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { servers } from './servers.ts';

/**
 * Per folder of a mailbox: message count and sha256 of each message file, keyed by
 * the Maildir base name without its flags (`:2,…`), which survive a flag change.
 */
export interface BackupManifest {
  version: 1;
  createdAt: string;
  /** The mail root the manifest describes (absolute, as in the snapshot); /var/vmail on a server. */
  root?: string;
  mailboxes: Record<string, Record<string, { count: number; messages: Record<string, string> }>>;
}

export const backupRepositories = pgTable('backup_repositories', {
  serverId: uuid('server_id')
    .primaryKey()
    .references(() => servers.id, { onDelete: 'cascade' }),
  region: text('region').notNull(),
  bucket: text('bucket').notNull(),
  /** restic's repository string (`s3:https://…/bucket`). */
  repository: text('repository').notNull(),
  endpoint: text('endpoint').notNull(),
  /** Vault ids: the restic password and the server's own S3 credential (both also on the server). */
  resticPasswordSecretId: uuid('restic_password_secret_id').notNull(),
  serverCredentialSecretId: uuid('server_credential_secret_id'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /** The server's credential was revoked (deprovisioned): nothing on any host can write here any more. */
  credentialsRevokedAt: timestamp('credentials_revoked_at', { withTimezone: true }),
  /** Deprovisioned: the final backup is kept until then, then deleted (backups.expire job). */
  deleteAfter: timestamp('delete_after', { withTimezone: true }),
  /** Every object version and the bucket are gone: the last copy of the server's mail no longer exists. */
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
  lastMaintenanceAt: timestamp('last_maintenance_at', { withTimezone: true }),
  /** `restic check` by the control plane: passed | failed, with restic's words when it failed. */
  lastCheckStatus: text('last_check_status', { enum: ['passed', 'failed'] }),
  lastCheckError: text('last_check_error'),
});

export const BACKUP_RUN_STATUSES = ['running', 'succeeded', 'failed'] as const;

export const backupRuns = pgTable(
  'backup_runs',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    /** daily | manual | before:<operation> | final */
    reason: text('reason').notNull(),
    status: text('status', { enum: BACKUP_RUN_STATUSES }).notNull().default('running'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    durationMs: integer('duration_ms'),
    resticSnapshotId: text('restic_snapshot_id'),
    /** Bytes and files the snapshot holds (restic's total_*_processed); dataAdded: new bytes this run stored. */
    sizeBytes: bigint('size_bytes', { mode: 'number' }),
    dataAddedBytes: bigint('data_added_bytes', { mode: 'number' }),
    files: integer('files'),
    manifest: jsonb('manifest').$type<BackupManifest>(),
    /** Answered by an emulated sandbox host: no restic ran, nothing was stored; never drilled. */
    simulated: boolean('simulated').notNull().default(false),
    error: text('error'),
  },
  (t) => [index('backup_runs_server_idx').on(t.serverId, t.startedAt)],
);

export const backupDrills = pgTable(
  'backup_drills',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    backupRunId: uuid('backup_run_id').references(() => backupRuns.id, { onDelete: 'set null' }),
    resticSnapshotId: text('restic_snapshot_id'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** skipped: the snapshot is simulated (emulated host), so there was nothing to restore. */
    status: text('status', { enum: ['running', 'passed', 'failed', 'skipped'] })
      .notNull()
      .default('running'),
    messagesCompared: integer('messages_compared').notNull().default(0),
    /** Per folder: expected, found, missing and differing message keys (bounded lists). */
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    error: text('error'),
  },
  (t) => [index('backup_drills_server_idx').on(t.serverId, t.startedAt)],
);

/** A one-mailbox (or one-folder) restore into a "Restored <date>" folder beside the current mail. */
export const backupRestores = pgTable(
  'backup_restores',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    mailboxId: uuid('mailbox_id'),
    address: text('address').notNull(),
    backupRunId: uuid('backup_run_id').references(() => backupRuns.id, { onDelete: 'set null' }),
    resticSnapshotId: text('restic_snapshot_id').notNull(),
    /** null: every folder. */
    folder: text('folder'),
    targetFolder: text('target_folder').notNull(),
    status: text('status', { enum: ['queued', 'running', 'succeeded', 'failed'] })
      .notNull()
      .default('queued'),
    restoredMessages: integer('restored_messages'),
    simulated: boolean('simulated').notNull().default(false),
    error: text('error'),
    requestedBy: text('requested_by').notNull(),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('backup_restores_server_idx').on(t.serverId, t.requestedAt)],
);

/**
 * A mailbox downloaded as an archive from a chosen snapshot (restore way 3). Nothing is
 * stored: the row is the link (single use, short-lived); the archive is streamed from
 * restic when the link is fetched, so no copy of the mail is left behind.
 */
export const mailboxDownloads = pgTable(
  'mailbox_downloads',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    mailboxId: uuid('mailbox_id'),
    address: text('address').notNull(),
    backupRunId: uuid('backup_run_id').references(() => backupRuns.id, { onDelete: 'set null' }),
    resticSnapshotId: text('restic_snapshot_id').notNull(),
    /** The Maildir's path in the snapshot (the manifest's root, the domain, the local part). */
    snapshotPath: text('snapshot_path').notNull(),
    requestedBy: text('requested_by').notNull(),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** Set once, when the link is fetched: a second fetch finds it used. */
    usedAt: timestamp('used_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    bytes: bigint('bytes', { mode: 'number' }),
    error: text('error'),
  },
  (t) => [index('mailbox_downloads_server_idx').on(t.serverId, t.requestedAt)],
);
