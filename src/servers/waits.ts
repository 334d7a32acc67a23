/**
 * What a server's latest run is waiting for (a person's move: nameservers to
 * change, outbound SMTP to be unblocked). The engine parks such steps with a
 * `waitingFor`; the dashboard shows them and the notice sweep mails them.
 */
import { and, desc, eq, isNotNull } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { provisioningRuns, provisioningSteps, type StepWait } from '../db/schema/index.ts';

export interface ServerWait extends StepWait {
  step: string;
}

export async function currentWaits(db: Db, serverId: string): Promise<ServerWait[]> {
  const [run] = await db
    .select({ id: provisioningRuns.id })
    .from(provisioningRuns)
    .where(eq(provisioningRuns.serverId, serverId))
    .orderBy(desc(provisioningRuns.createdAt))
    .limit(1);
  if (!run) return [];
  const rows = await db
    .select({ name: provisioningSteps.name, waitingFor: provisioningSteps.waitingFor })
    .from(provisioningSteps)
    .where(and(eq(provisioningSteps.runId, run.id), eq(provisioningSteps.status, 'waiting'), isNotNull(provisioningSteps.waitingFor)));
  return rows.map((r) => ({ ...r.waitingFor!, step: r.name }));
}
