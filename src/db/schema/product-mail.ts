/** Mail the product sends, single-use account tokens, and server health checks. */
import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from './accounts.ts';
import { servers } from './servers.ts';

/**
 * The sandbox outbox: with no MAIL_SMTP_URL, product mail is kept here and shown
 * on /sandbox/mail, so a newcomer can click the links. In the database rather
 * than in memory because the worker (which sends "server ready") and the API
 * (which shows the page) may be different processes.
 */
export const sandboxMail = pgTable(
  'sandbox_mail',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    from: text('from').notNull(),
    to: text('to').array().notNull(),
    subject: text('subject').notNull(),
    text: text('text').notNull(),
    html: text('html'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('sandbox_mail_created_idx').on(t.createdAt)],
);

export const ACCOUNT_TOKEN_PURPOSES = ['password_reset', 'email_verification'] as const;
export type AccountTokenPurpose = (typeof ACCOUNT_TOKEN_PURPOSES)[number];

/** Emailed single-use links: only sha256(token) is stored; used_at makes a second use fail. */
export const accountTokens = pgTable(
  'account_tokens',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose', { enum: ACCOUNT_TOKEN_PURPOSES }).notNull(),
    /** The address the link was sent to: a verification only counts for that address. */
    email: text('email').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('account_tokens_hash_key').on(t.tokenHash), index('account_tokens_user_idx').on(t.userId, t.purpose)],
);

export const CHECK_STATUSES = ['pass', 'warn', 'fail', 'unknown'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/**
 * The latest result of each health check of a server. `changedAt` moves only
 * when the status changes; `notifiedStatus` is the status owners were last
 * told about, so a change is mailed once, not on every run.
 */
export const serverChecks = pgTable(
  'server_checks',
  {
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    status: text('status', { enum: CHECK_STATUSES }).notNull(),
    summary: text('summary').notNull(),
    /** One sentence: what to do when the check does not pass. */
    action: text('action'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    checkedAt: timestamp('checked_at', { withTimezone: true }).notNull().defaultNow(),
    changedAt: timestamp('changed_at', { withTimezone: true }).notNull().defaultNow(),
    notifiedStatus: text('notified_status', { enum: CHECK_STATUSES }),
  },
  (t) => [primaryKey({ columns: [t.serverId, t.name] })],
);

/**
 * Notices mailed about a server ("ready", "action needed: <code>"): the primary
 * key makes each one go out once, whichever worker process sees it first.
 */
export const serverNotices = pgTable(
  'server_notices',
  {
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    sentAt: timestamp('sent_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.serverId, t.kind] })],
);
