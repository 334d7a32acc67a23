/**
 * Imports of a mailbox from another provider (issue 23): the old IMAP server, the user and
 * the address the host name resolved to when the customer asked (the run connects to that
 * address only), with the state, per-folder counts and error of each run. The old password
 * is never here: it waits in the vault (owner table `mailbox_imports`) until the run ends.
 */
import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { mailboxes } from './mailboxes.ts';
import { servers } from './servers.ts';

/** One folder after a run: messages in it on this server before and after, and how many the run copied. */
export interface ImportFolderCount {
  name: string;
  before: number;
  after: number;
  copied: number;
}

export const mailboxImports = pgTable(
  'mailbox_imports',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    workspaceId: uuid('workspace_id').notNull(),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    mailboxId: uuid('mailbox_id')
      .notNull()
      .references(() => mailboxes.id, { onDelete: 'cascade' }),
    address: text('address').notNull(),
    /** As the customer gave it: the name the certificate must be valid for. */
    sourceHost: text('source_host').notNull(),
    /** The public address sourceHost resolved to when asked: the only one the run connects to. */
    sourceAddress: text('source_address').notNull(),
    sourcePort: integer('source_port').notNull(),
    /** imaps: TLS from the first byte (993); starttls: STARTTLS on a plain port (143). Never without TLS. */
    sourceSecurity: text('source_security', { enum: ['imaps', 'starttls'] }).notNull(),
    sourceUser: text('source_user').notNull(),
    status: text('status', { enum: ['queued', 'running', 'succeeded', 'failed'] })
      .notNull()
      .default('queued'),
    /** The run's latest progress line (what it is doing now). */
    progress: text('progress'),
    folders: jsonb('folders').$type<ImportFolderCount[]>().notNull().default([]),
    messagesCopied: integer('messages_copied'),
    /**
     * dsync's state after this run (mailbox GUIDs, UIDs and modseqs; no secret): the next run from
     * the same source starts from it, so mail that arrived here meanwhile never makes it copy twice.
     */
    syncState: text('sync_state'),
    simulated: boolean('simulated').notNull().default(false),
    error: text('error'),
    requestedBy: text('requested_by').notNull(),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('mailbox_imports_mailbox_idx').on(t.mailboxId, t.requestedAt)],
);
