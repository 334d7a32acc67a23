/**
 * Day two of the fleet: the versions of the mail stack (what each server was given), what its
 * host was last seen holding (drift, updates), customers' maintenance windows, and rollouts.
 */
import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { servers } from './servers.ts';
import { workspaces } from './accounts.ts';
import type { TemplateEntry } from '../../mailstack/manifest.ts';

/**
 * One version of the mail stack: everything needed to render it again for any server (the
 * manifest, each template's text, the package list), so a server can be put back on it after
 * the release that made it is gone. `id` is the digest of exactly that content.
 */
export const stackVersions = pgTable('stack_versions', {
  id: text('id').primaryKey(),
  /** The mailplane release that first rendered it. */
  release: text('release').notNull(),
  manifest: jsonb('manifest').$type<TemplateEntry[]>().notNull(),
  templates: jsonb('templates').$type<Record<string, string>>().notNull(),
  packages: text('packages').array().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** When customers accept disruptive changes (service restarts, reboots): weekdays (0 = Sunday, UTC) and a start minute. */
export interface MaintenanceWindow {
  days: number[];
  startMinute: number;
  durationMinutes: number;
}

/** What mailplane applied to a server, file by file (content digests; never the content). */
export type AppliedFiles = Record<string, { sha256: string; secret: boolean }>;

/** What a host was last seen holding, and how it compares (src/fleet/drift.ts). */
export interface HostObservation {
  checkedAt: string;
  bootId: string | null;
  /** Managed files whose content differs from what mailplane last applied (drift), with a diff when not secret. */
  drifted: Array<{ path: string; secret: boolean; missing: boolean; diff: string | null }>;
  /** Files a rollout to the current version would change. */
  outdated: string[];
  packages: Record<string, string | null>;
  packagesChanged: Array<{ name: string; applied: string | null; now: string | null }>;
  services: Record<string, { enabled: string; active: string }>;
  updates: { pending: string[]; security: string[] };
  rebootRequired: boolean;
  rebootPackages: string[];
  kernel: { running: string; installed: string | null };
}

export const serverStacks = pgTable(
  'server_stacks',
  {
    serverId: uuid('server_id')
      .primaryKey()
      .references(() => servers.id, { onDelete: 'cascade' }),
    version: text('version'),
    release: text('release'),
    appliedAt: timestamp('applied_at', { withTimezone: true }),
    files: jsonb('files').$type<AppliedFiles>().notNull().default({}),
    /** Package versions seen right after the apply (what mailplane installed). */
    packages: jsonb('packages').$type<Record<string, string | null>>().notNull().default({}),
    /** The version before the last apply of another one: where a failed rollout puts the server back. */
    previousVersion: text('previous_version'),
    observed: jsonb('observed').$type<HostObservation>(),
    observedAt: timestamp('observed_at', { withTimezone: true }),
    /** When the drift check is due (src/fleet/schedule.ts). */
    nextDriftCheckAt: timestamp('next_drift_check_at', { withTimezone: true }).notNull().defaultNow(),
    /** A window chosen for this server (else the workspace's, else the default one). */
    maintenanceWindow: jsonb('maintenance_window').$type<MaintenanceWindow>(),
    lastRebootAt: timestamp('last_reboot_at', { withTimezone: true }),
  },
  (t) => [index('server_stacks_next_drift_idx').on(t.nextDriftCheckAt), index('server_stacks_version_idx').on(t.version)],
);

export const workspaceMaintenance = pgTable('workspace_maintenance', {
  workspaceId: uuid('workspace_id')
    .primaryKey()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  window: jsonb('window').$type<MaintenanceWindow>().notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const ROLLOUT_STATUSES = ['running', 'halted', 'succeeded', 'aborted'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

export const rollouts = pgTable(
  'rollouts',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    targetVersion: text('target_version').notNull(),
    status: text('status', { enum: ROLLOUT_STATUSES }).notNull().default('running'),
    /** Why it halted: the server and the check that failed. */
    haltReason: text('halt_reason'),
    haltedServerId: uuid('halted_server_id'),
    startedBy: text('started_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('rollouts_status_idx').on(t.status)],
);

export const ROLLOUT_SERVER_STATUSES = [
  'pending',
  'waiting_window',
  'applying',
  'succeeded',
  'failed',
  'rolling_back',
  'rolled_back',
  'rollback_failed',
  'skipped',
] as const;
export type RolloutServerStatus = (typeof ROLLOUT_SERVER_STATUSES)[number];

export const rolloutServers = pgTable(
  'rollout_servers',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    rolloutId: uuid('rollout_id')
      .notNull()
      .references(() => rollouts.id, { onDelete: 'cascade' }),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    wave: integer('wave').notNull(),
    status: text('status', { enum: ROLLOUT_SERVER_STATUSES }).notNull().default('pending'),
    fromVersion: text('from_version'),
    runId: uuid('run_id'),
    rollbackRunId: uuid('rollback_run_id'),
    failedCheck: text('failed_check'),
    error: text('error'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('rollout_servers_key').on(t.rolloutId, t.serverId), index('rollout_servers_run_idx').on(t.runId)],
);
