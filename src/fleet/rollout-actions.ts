/**
 * What ops do with a halted rollout: resume it (the server that failed is tried again, as after
 * a fix), skip that server (the rollout goes on without it), or abort it (nothing more starts;
 * a run in flight finishes, and a failed one is still put back). Each is audited and closes the
 * halt alert; read models for the API, the CLI and the ops page are here too.
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { audit, type Actor } from '../audit.ts';
import type { Db } from '../db/client.ts';
import { rollouts, rolloutServers, servers } from '../db/schema/index.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { FleetDeps } from './deps.ts';
import { alertKeyOf } from './rollouts.ts';

export type RolloutAction = 'resume' | 'skip' | 'abort';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function actOnRollout(deps: FleetDeps, actor: Actor, id: string, action: RolloutAction): Promise<RolloutView> {
  if (!UUID.test(id)) throw new NotFoundError('Rollout');
  const p = deps.provisioning;
  await p.database.db.transaction(async (tx) => {
    const [r] = await tx.select().from(rollouts).where(eq(rollouts.id, id)).for('update');
    if (!r) throw new NotFoundError('Rollout');
    const members = await tx.select().from(rolloutServers).where(eq(rolloutServers.rolloutId, id));
    const now = new Date(p.clock.now());
    if (action === 'abort') {
      if (r.status !== 'running' && r.status !== 'halted') throw new ConflictError(`The rollout is ${r.status}`, 'rollout_finished');
      await tx
        .update(rolloutServers)
        .set({ status: 'skipped', error: 'rollout aborted', updatedAt: now })
        .where(and(eq(rolloutServers.rolloutId, id), inArray(rolloutServers.status, ['pending', 'waiting_window'])));
      await tx.update(rollouts).set({ status: 'aborted', finishedAt: now }).where(eq(rollouts.id, id));
    } else {
      if (r.status !== 'halted')
        throw new ConflictError(
          `Only a halted rollout can be ${action === 'resume' ? 'resumed' : 'skipped past'}; this one is ${r.status}`,
          'rollout_not_halted',
        );
      if (members.some((m) => m.status === 'rolling_back'))
        throw new ConflictError('A server is still being put back on its previous version: wait for it', 'rollback_in_progress');
      const failed = members.filter(
        (m) => ['failed', 'rolled_back', 'rollback_failed'].includes(m.status) && (action === 'skip' || m.serverId === r.haltedServerId),
      );
      if (failed.length > 0) {
        await tx
          .update(rolloutServers)
          .set(action === 'resume' ? { status: 'pending', updatedAt: now } : { status: 'skipped', error: 'skipped by ops', updatedAt: now })
          .where(
            inArray(
              rolloutServers.id,
              failed.map((m) => m.id),
            ),
          );
      }
      await tx.update(rollouts).set({ status: 'running', haltReason: null, haltedServerId: null }).where(eq(rollouts.id, id));
      await p.queue.send('rollouts.advance', { rolloutId: id }, { tx, singletonKey: id });
    }
    await p.alerts.resolve(tx, alertKeyOf(id));
    await audit(tx, actor, { action: `rollout.${action}`, target: id, details: { haltedServerId: r.haltedServerId, haltReason: r.haltReason } });
  });
  return rolloutView(p.database.db, id);
}

export async function rolloutView(db: Db, id: string) {
  if (!UUID.test(id)) throw new NotFoundError('Rollout');
  const [r] = await db.select().from(rollouts).where(eq(rollouts.id, id));
  if (!r) throw new NotFoundError('Rollout');
  const members = await db
    .select({ m: rolloutServers, hostname: servers.hostname })
    .from(rolloutServers)
    .innerJoin(servers, eq(servers.id, rolloutServers.serverId))
    .where(eq(rolloutServers.rolloutId, id))
    .orderBy(asc(rolloutServers.wave), asc(servers.hostname));
  const counts: Record<string, number> = {};
  for (const { m } of members) counts[m.status] = (counts[m.status] ?? 0) + 1;
  return {
    id: r.id,
    targetVersion: r.targetVersion,
    status: r.status,
    haltReason: r.haltReason,
    haltedServerId: r.haltedServerId,
    startedBy: r.startedBy,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    counts,
    servers: members.map(({ m, hostname }) => ({
      serverId: m.serverId,
      hostname,
      wave: m.wave,
      status: m.status,
      fromVersion: m.fromVersion,
      runId: m.runId,
      rollbackRunId: m.rollbackRunId,
      failedCheck: m.failedCheck,
      error: m.error,
      updatedAt: m.updatedAt.toISOString(),
    })),
  };
}
export type RolloutView = Awaited<ReturnType<typeof rolloutView>>;

export async function listRollouts(db: Db, limit = 20) {
  const rows = await db.select().from(rollouts).orderBy(desc(rollouts.createdAt)).limit(limit);
  return rows.map((r) => ({
    id: r.id,
    targetVersion: r.targetVersion,
    status: r.status,
    haltReason: r.haltReason,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  }));
}

/** "120 servers on X, 3 on W": live servers per stack version, the current one named. */
export async function fleetVersions(deps: FleetDeps) {
  const current = deps.provisioning.stack.current();
  const rows = await deps.provisioning.database.db.execute<{ version: string | null; release: string | null; servers: number }>(sql`
    select st.version, v.release, count(*)::int as servers from servers s
    left join server_stacks st on st.server_id = s.id left join stack_versions v on v.id = st.version
    where s.status in ('ready', 'suspended', 'failed') group by st.version, v.release order by count(*) desc`);
  return {
    current: { version: current.version, release: current.release },
    versions: [...rows].map((r) => ({ version: r.version, release: r.release, servers: r.servers, current: r.version === current.version })),
  };
}
