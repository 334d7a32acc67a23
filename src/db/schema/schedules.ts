import { index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { servers } from './servers.ts';

/**
 * When each server's periodic work of one kind is next due (src/jobs/due-sweep.ts): a sweep finds
 * due work by the index on (kind, next_at) instead of aggregating check history or hashing every
 * server id each minute. Kinds: `health` (src/health/sweep.ts), `blacklists` (src/ops/monitor.ts),
 * `usage` (src/mailboxes/usage.ts).
 */
export const serverSchedules = pgTable(
  'server_schedules',
  {
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['health', 'blacklists', 'usage'] }).notNull(),
    nextAt: timestamp('next_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.serverId, t.kind] }), index('server_schedules_due_idx').on(t.kind, t.nextAt)],
);
