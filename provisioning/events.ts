/**
 * Step and run events, published with pg_notify inside the transaction that
 * changes the state, so listeners (the SSE endpoint, in any API process) see
 * an event only once its change is committed.
 */
import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { DbOrTx } from '../src/db/client.ts';

export const EVENTS_CHANNEL = 'mailplane_provisioning';

export interface ProvisioningEvent {
  serverId: string;
  runId: string;
  type: 'step.started' | 'step.succeeded' | 'step.retrying' | 'step.waiting' | 'step.wait_over' | 'step.failed' | 'run.succeeded' | 'run.failed' | 'run.started';
  step?: string;
  attempt?: number;
  error?: string;
  at: string;
}

export async function publishEvent(db: DbOrTx, event: Omit<ProvisioningEvent, 'at'>): Promise<void> {
  const payload = JSON.stringify({ ...event, at: new Date().toISOString() });
  await db.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${payload})`);
}

/**
 * The same notification as an SQL expression, to put in the RETURNING of the statement that makes
 * the change (one round trip instead of two). `attempt`, when given, is read from the row written.
 */
export function eventSql(event: Omit<ProvisioningEvent, 'attempt'>, attempt?: SQLWrapper): SQL<string> {
  const fields = Object.entries(event).filter(([, v]) => v !== undefined).map(([k, v]) => sql`${k}::text, ${v}::text`);
  if (attempt) fields.push(sql`'attempt', ${attempt}`);
  return sql<string>`pg_notify(${EVENTS_CHANNEL}, json_build_object(${sql.join(fields, sql`, `)})::text)::text`;
}
