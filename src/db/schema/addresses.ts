/**
 * Addresses beyond the mailboxes themselves, per server (one domain per server):
 * aliases, the catch-all, forwarding and the vacation auto-reply. They reach
 * the server with the mailbox set (the `mailboxes.sync` job pushes everything);
 * a row is on the server once `appliedAt` is at or after its `updatedAt`.
 */
import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { workspaces } from './accounts.ts';
import { mailboxes } from './mailboxes.ts';
import { servers } from './servers.ts';

const tracked = {
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  appliedAt: timestamp('applied_at', { withTimezone: true }),
};

/** Another address of a mailbox: mail to it arrives there, and the mailbox may send as it. */
export const mailAliases = pgTable(
  'mail_aliases',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    mailboxId: uuid('mailbox_id')
      .notNull()
      .references(() => mailboxes.id, { onDelete: 'cascade' }),
    localPart: text('local_part').notNull(),
    address: text('address').notNull(),
    ...tracked,
  },
  (t) => [uniqueIndex('mail_aliases_server_local_part_key').on(t.serverId, t.localPart), index('mail_aliases_mailbox_idx').on(t.mailboxId)],
);

/** At most one per server: mail to any address the domain does not have goes to this mailbox. */
export const catchAlls = pgTable('catch_alls', {
  serverId: uuid('server_id')
    .primaryKey()
    .references(() => servers.id, { onDelete: 'cascade' }),
  workspaceId: uuid('workspace_id')
    .notNull()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  mailboxId: uuid('mailbox_id')
    .notNull()
    .references(() => mailboxes.id, { onDelete: 'cascade' }),
  ...tracked,
});

/** One outside address per mailbox; mail Rspamd marks as spam is never forwarded. */
export const mailForwards = pgTable(
  'mail_forwards',
  {
    mailboxId: uuid('mailbox_id')
      .primaryKey()
      .references(() => mailboxes.id, { onDelete: 'cascade' }),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    target: text('target').notNull(),
    keepCopy: boolean('keep_copy').notNull().default(true),
    ...tracked,
  },
  (t) => [index('mail_forwards_server_idx').on(t.serverId)],
);

/** The vacation auto-reply (Sieve, RFC 5230) between two dates, inclusive, in UTC. */
export const vacations = pgTable(
  'vacations',
  {
    mailboxId: uuid('mailbox_id')
      .primaryKey()
      .references(() => mailboxes.id, { onDelete: 'cascade' }),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    startsOn: text('starts_on').notNull(),
    endsOn: text('ends_on').notNull(),
    subject: text('subject').notNull(),
    message: text('message').notNull(),
    /** RFC 5230 `:days`: one reply per sender within this many days. */
    days: integer('days').notNull().default(7),
    ...tracked,
  },
  (t) => [index('vacations_server_idx').on(t.serverId)],
);
