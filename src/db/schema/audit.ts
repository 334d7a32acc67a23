/** Audit log of sensitive actions. Actor ids stay after erasure as a pseudonym. */
import { bigserial, index, inet, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** User id, API key id or "system"; not a foreign key so erasing a user keeps the trail. */
    actorId: text('actor_id').notNull(),
    actorKind: text('actor_kind', { enum: ['user', 'api_key', 'staff', 'system', 'stripe'] }).notNull(),
    workspaceId: uuid('workspace_id'),
    action: text('action').notNull(),
    target: text('target'),
    ip: inet('ip'),
    details: jsonb('details').$type<Record<string, unknown>>(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('audit_workspace_idx').on(t.workspaceId, t.at), index('audit_actor_idx').on(t.actorId)],
);
