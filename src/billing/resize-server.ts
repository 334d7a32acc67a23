/**
 * The `billing.resize_server` job: after a plan change Stripe confirmed, the server moves onto the
 * new plan's instance type and disk when they differ from the old plan's in its zone (Starter →
 * Business: DEV1-S with 30 GB → DEV1-M with 50 GB). That move is the rebuild run
 * (src/servers/rebuild.ts): a backup first, the old instance retired, a new one made by
 * create_server from the server's (new) plan, the same IPs and keys, the mail restored.
 *
 * A server that cannot be rebuilt now (another run in progress, suspended) makes the job throw:
 * pg-boss retries it with backoff. Any rebuild that started after the change already builds the new
 * plan's instance, so a retry after one is a no-op, and so is a job a later plan change superseded.
 */
import { and, eq, gte, inArray } from 'drizzle-orm';
import { SYSTEM_ACTOR } from '../audit.ts';
import type { Clock } from '../clock.ts';
import type { Plan } from '../config.ts';
import type { Database } from '../db/client.ts';
import { provisioningRuns, servers } from '../db/schema/index.ts';
import type { JobData } from '../jobs/catalog.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Placements } from '../servers/placement.ts';
import { startRebuild } from '../servers/rebuild.ts';
import { rootVolumeBytes } from '../servers/root-volume.ts';

export interface ResizeDeps {
  database: Database;
  queue: JobQueue;
  plans: readonly Plan[];
  placements: Placements;
  clock: Clock;
}

const ACTOR = { ...SYSTEM_ACTOR, id: 'billing-plan-change' };

/** The instance type and disk a plan gets in a zone, as create_server would choose them. */
async function sizeIn(deps: ResizeDeps, plan: Plan, zone: string): Promise<string> {
  const placed = await deps.placements.typeFor(plan, zone);
  const type = 'commercialType' in placed ? placed.commercialType : `none (${placed.refused})`;
  return `${type}, ${rootVolumeBytes(plan) / 1_000_000_000} GB disk`;
}

export async function resizeAfterPlanChange(deps: ResizeDeps, job: JobData<'billing.resize_server'>): Promise<string> {
  const { db } = deps.database;
  const [server] = await db.select().from(servers).where(eq(servers.id, job.serverId));
  if (!server || server.status === 'deleted' || server.status === 'deprovisioning') return 'server gone';
  if (server.planId !== job.toPlanId) return `superseded: the server is now on ${server.planId}`;
  const from = deps.plans.find((p) => p.id === job.fromPlanId);
  const to = deps.plans.find((p) => p.id === job.toPlanId);
  if (!from || !to) return 'unknown plan';
  const [before, after] = [await sizeIn(deps, from, server.zone), await sizeIn(deps, to, server.zone)];
  if (before === after) return `no rebuild needed: both plans run on ${after}`;
  const [since] = await db
    .select({ id: provisioningRuns.id })
    .from(provisioningRuns)
    .where(
      and(
        eq(provisioningRuns.serverId, server.id),
        eq(provisioningRuns.kind, 'rebuild'),
        inArray(provisioningRuns.status, ['running', 'succeeded']),
        gte(provisioningRuns.createdAt, new Date(job.changedAt)),
      ),
    )
    .limit(1);
  if (since) return `rebuild ${since.id} already builds the ${to.name} plan's server`;
  // Throws (run in progress, server not ready or failed): the job is retried later.
  const { runId } = await startRebuild(deps, ACTOR, {
    serverId: server.id,
    reason: `plan changed from ${from.name} to ${to.name}: moving from ${before} to ${after}`,
  });
  return `rebuild ${runId} onto ${after}`;
}
