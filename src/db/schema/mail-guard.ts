/**
 * App passwords of a mailbox and the mail-filtering settings of a server's domain (issue 23).
 * Kept apart from mailboxes.ts: these rows are pushed to the server with the mailbox set
 * (src/mailboxes/sync.ts) but have their own lifecycle (created, used, revoked).
 */
import { sql } from 'drizzle-orm';
import { index, pgTable, real, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { workspaces } from './accounts.ts';
import { mailboxes } from './mailboxes.ts';
import { servers } from './servers.ts';

export const APP_PASSWORD_SCOPES = ['imap', 'smtp'] as const;
export type AppPasswordScope = (typeof APP_PASSWORD_SCOPES)[number];

/**
 * Shown once when created; only the Dovecot hash is kept (the password is random, so
 * nothing else needs it). A revoked row stays for the audit trail and the "last used"
 * it had; it is no longer pushed to the server.
 */
export const mailboxAppPasswords = pgTable(
  'mailbox_app_passwords',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    mailboxId: uuid('mailbox_id')
      .notNull()
      .references(() => mailboxes.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** imap, smtp (submission) or both. */
    scopes: text('scopes').array().notNull(),
    passwordHash: text('password_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /** Collected from the server (the auth log it keeps per app password), never reported by the client. */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    lastUsedIp: text('last_used_ip'),
    lastUsedService: text('last_used_service'),
  },
  (t) => [index('mailbox_app_passwords_mailbox_idx').on(t.mailboxId)],
);

/** Per-domain filtering (one domain per server today): the Rspamd score from which mail goes to Junk. */
export const domainSpamSettings = pgTable('domain_spam_settings', {
  serverId: uuid('server_id')
    .primaryKey()
    .references(() => servers.id, { onDelete: 'cascade' }),
  junkScore: real('junk_score').notNull().default(6),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
