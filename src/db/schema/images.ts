/**
 * Pre-baked mail-server images, one bake per row: a zone's image goes from
 * `baking` (phase by phase, each phase's provider ids stored before it moves
 * on, so a retried bake resumes instead of leaking) to `available`, and to
 * `retired` once a newer bake replaced it (its image and snapshot deleted).
 */
import { sql } from 'drizzle-orm';
import { index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const IMAGE_STATUSES = ['baking', 'available', 'failed', 'retired'] as const;
export const BAKE_PHASES = ['instance', 'stopping', 'snapshotting', 'imaging', 'cleanup', 'done'] as const;
export const BAKE_REASONS = ['manual', 'package_change', 'weekly', 'missing'] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];
export type BakePhase = (typeof BAKE_PHASES)[number];
export type BakeReason = (typeof BAKE_REASONS)[number];

export const mailImages = pgTable(
  'mail_images',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    zone: text('zone').notNull(),
    /** packageDigest() of the packages and bake recipe this image holds. */
    packageDigest: text('package_digest').notNull(),
    status: text('status', { enum: IMAGE_STATUSES }).notNull().default('baking'),
    phase: text('phase', { enum: BAKE_PHASES }).notNull().default('instance'),
    reason: text('reason', { enum: BAKE_REASONS }).notNull(),
    providerServerId: text('provider_server_id'),
    snapshotId: text('snapshot_id'),
    imageId: text('image_id'),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    /** The bake's last lines (bounded), for ops. */
    log: text('log').notNull().default(''),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    index('mail_images_zone_idx').on(t.zone, t.status, t.createdAt),
    // One bake at a time per zone.
    uniqueIndex('mail_images_one_bake_per_zone').on(t.zone).where(sql`${t.status} = 'baking'`),
  ],
);
