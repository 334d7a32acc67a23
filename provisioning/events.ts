/**
 * Step and run events, published with pg_notify inside the transaction that
 * changes the state, so listeners (the SSE endpoint, in any API process) see
 * an event only once its change is committed.
 */
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../src/db/client.ts';

export const EVENTS_CHANNEL = 'mailplane_provisioning';

export interface ProvisioningEvent {
  serverId: string;
  runId: string;
  type:
    | 'step.started'
    | 'step.succeeded'
    | 'step.retrying'
    | 'step.waiting'
    | 'step.wait_over'
    | 'step.failed'
    | 'run.succeeded'
    | 'run.failed'
    | 'run.started';
  step?: string;
  attempt?: number;
  error?: string;
  at: string;
}

export async function publishEvent(db: DbOrTx, event: Omit<ProvisioningEvent, 'at'>): Promise<void> {
  const payload = JSON.stringify({ ...event, at: new Date().toISOString() });
  await db.execute(sql`select pg_notify(${EVENTS_CHANNEL}, ${payload})`);
}
