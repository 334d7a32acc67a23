/** Vault secrets, alerts and blacklist checks. */
import { sql } from 'drizzle-orm';
import { doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Envelope-encrypted secrets: `ciphertext`/`iv`/`tag` are the secret under its
 * own data key; `wrappedKey` is that data key under master key `keyId`. `aad`
 * binds the ciphertext to its owner row, so moving it elsewhere fails to decrypt.
 */
export const vaultSecrets = pgTable(
  'vault_secrets',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    workspaceId: uuid('workspace_id'),
    ownerTable: text('owner_table').notNull(),
    ownerId: text('owner_id').notNull(),
    purpose: text('purpose').notNull(),
    keyId: text('key_id').notNull(),
    wrappedKey: text('wrapped_key').notNull(),
    iv: text('iv').notNull(),
    ciphertext: text('ciphertext').notNull(),
    tag: text('tag').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    rotatedAt: timestamp('rotated_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('vault_owner_purpose_key').on(t.ownerTable, t.ownerId, t.purpose), index('vault_key_idx').on(t.keyId)],
);

export const alerts = pgTable(
  'alerts',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    kind: text('kind').notNull(),
    severity: text('severity', { enum: ['info', 'warning', 'critical'] }).notNull(),
    serverId: uuid('server_id'),
    dedupeKey: text('dedupe_key').notNull(),
    message: text('message').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull().defaultNow(),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true }),
    acknowledgedBy: text('acknowledged_by'),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('alerts_open_dedupe_key').on(t.dedupeKey).where(sql`resolved_at is null`), index('alerts_server_idx').on(t.serverId)],
);

export const blacklistChecks = pgTable(
  'blacklist_checks',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    serverId: uuid('server_id'),
    address: text('address').notNull(),
    zone: text('zone').notNull(),
    status: text('status', { enum: ['listed', 'clean', 'unknown'] }).notNull(),
    codes: text('codes').array().notNull().default(sql`'{}'::text[]`),
    error: text('error'),
    checkedAt: timestamp('checked_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('blacklist_checks_address_idx').on(t.address, t.checkedAt),
    // Zone health: the last N verdicts of one zone, across servers (src/ops/zone-health.ts).
    index('blacklist_checks_zone_idx').on(t.zone, t.checkedAt),
  ],
);

/**
 * One notification of one alert event on one channel. The unique key makes
 * enqueueing idempotent (the monitor and the outbox sweep may both try); the
 * row outlives every failed attempt, so a delivery that keeps failing is
 * visible instead of lost.
 */
export const alertDeliveries = pgTable(
  'alert_deliveries',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    alertId: uuid('alert_id')
      .notNull()
      .references(() => alerts.id, { onDelete: 'cascade' }),
    channel: text('channel', { enum: ['webhook', 'email'] }).notNull(),
    event: text('event', { enum: ['opened', 'resolved'] }).notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] })
      .notNull()
      .default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('alert_deliveries_event_key').on(t.alertId, t.channel, t.event), index('alert_deliveries_status_idx').on(t.status)],
);

/**
 * What erased rows had contributed to the Prometheus counters of GET /metrics.
 * The counters are computed from rows at scrape time; erasure deletes rows, and
 * a counter must never go down, so the erased part is kept here as numbers with
 * no reference to whom they came from. `labels` is the canonical JSON of the
 * sample's labels (keys sorted).
 */
export const metricOffsets = pgTable(
  'metric_offsets',
  {
    metric: text('metric').notNull(),
    labels: text('labels').notNull(),
    value: doublePrecision('value').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.metric, t.labels] })],
);
