/** Mailboxes on a customer's server and the single-use webmail logins issued for them. */
import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users, workspaces } from './accounts.ts';
import { servers } from './servers.ts';

export const MAILBOX_SYNC_STATUSES = ['pending', 'applied', 'failed'] as const;

/**
 * `version` is bumped by every change the customer makes; the sync job pushes
 * the server's whole mailbox set and records the version it pushed, so a row
 * is "applied" exactly when `appliedVersion = version`. A deleted mailbox stays
 * (state `deleting`) until the server no longer has it.
 */
export const mailboxes = pgTable(
  'mailboxes',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    localPart: text('local_part').notNull(),
    address: text('address').notNull(),
    displayName: text('display_name'),
    /** The member this mailbox belongs to: besides owners and admins, only they may open its webmail. */
    assigneeUserId: uuid('assignee_user_id').references(() => users.id, { onDelete: 'set null' }),
    quotaMb: integer('quota_mb').notNull(),
    /** Dovecot password scheme string ({ARGON2ID}$argon2id$…); the password itself is in the vault. */
    passwordHash: text('password_hash').notNull(),
    state: text('state', { enum: ['active', 'deleting'] })
      .notNull()
      .default('active'),
    syncStatus: text('sync_status', { enum: MAILBOX_SYNC_STATUSES }).notNull().default('pending'),
    syncError: text('sync_error'),
    version: integer('version').notNull().default(1),
    appliedVersion: integer('applied_version').notNull().default(0),
    appliedAt: timestamp('applied_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** Off: mail clients must use app passwords for IMAP and SMTP; the webmail keeps working (issue 23). */
    mainPasswordForClients: boolean('main_password_for_clients').notNull().default(true),
    /** Storage in use as Dovecot reports it (doveadm quota get), with when it was read. */
    usedBytes: bigint('used_bytes', { mode: 'number' }),
    usageCollectedAt: timestamp('usage_collected_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('mailboxes_server_local_part_key').on(t.serverId, t.localPart), index('mailboxes_workspace_idx').on(t.workspaceId)],
);

/** Only the nonce's hash is kept: enough to audit and to refuse a replayed link. */
export const webmailLogins = pgTable(
  'webmail_logins',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    mailboxId: uuid('mailbox_id')
      .notNull()
      .references(() => mailboxes.id, { onDelete: 'cascade' }),
    nonceHash: text('nonce_hash').notNull(),
    issuedTo: text('issued_to').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('webmail_logins_nonce_key').on(t.nonceHash), index('webmail_logins_mailbox_idx').on(t.mailboxId)],
);
