/**
 * Rollouts: bringing the fleet's servers to the stack mailplane renders now, canary first, in
 * waves (waves.ts). Each server gets an `upgrade` run of the provisioning engine (backup, install,
 * harden, checks); the engine tells the rollout when that run ends (a `rollouts.advance` job in the
 * same transaction), and the minute sweep advances running rollouts too (a window that opened).
 *
 * A server whose run fails is put back on the version it had (another upgrade run, naming that
 * version, rendered from the stored stack) and the rollout halts at once, with an ops alert naming
 * the server and the check. Ops resume it (the server is tried again), skip the server, or abort.
 * Restarting services is disruptive: a server is only changed inside its maintenance window.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { startRun } from '../../provisioning/engine.ts';
import { failedCheckOf } from '../../provisioning/steps/upgrade-steps.ts';
import { audit, SYSTEM_ACTOR, type Actor } from '../audit.ts';
import type { DbOrTx, Tx } from '../db/client.ts';
import { provisioningRuns, provisioningSteps, rollouts, rolloutServers, servers, serverStacks } from '../db/schema/index.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { loadStackVersion, saveStackVersion } from '../mailstack/stack.ts';
import type { FleetDeps } from './deps.ts';
import { isOpen, windowOf } from './maintenance.ts';
import { planWaves } from './waves.ts';

type RolloutRow = typeof rollouts.$inferSelect;
type MemberRow = typeof rolloutServers.$inferSelect;

const DONE = new Set(['succeeded', 'failed', 'rolled_back', 'rollback_failed', 'skipped']);
export const alertKeyOf = (rolloutId: string) => `rollout:${rolloutId}`;

export async function startRollout(deps: FleetDeps, actor: Actor, input: { canaryServerId?: string | undefined } = {}): Promise<{ id: string }> {
  const p = deps.provisioning;
  const target = p.stack.current();
  return p.database.db.transaction(async (tx) => {
    // One rollout at a time: two would fight over the same servers.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('rollouts'))`);
    const [open] = await tx
      .select({ id: rollouts.id, status: rollouts.status })
      .from(rollouts)
      .where(inArray(rollouts.status, ['running', 'halted']))
      .limit(1);
    if (open) throw new ConflictError(`Rollout ${open.id} is ${open.status}: resume, skip or abort it first`, 'rollout_open');
    const fleet = await tx
      .select({ id: servers.id, version: serverStacks.version })
      .from(servers)
      .leftJoin(serverStacks, eq(serverStacks.serverId, servers.id))
      .where(eq(servers.status, 'ready'))
      .orderBy(asc(servers.createdAt));
    const behind = fleet.filter((s) => s.version !== target.version);
    if (behind.length === 0) throw new ConflictError(`Every ready server is on stack ${target.version} already`, 'nothing_to_roll_out');
    if (input.canaryServerId) {
      const at = behind.findIndex((s) => s.id === input.canaryServerId);
      if (at < 0) throw new NotFoundError('Canary server among the servers to upgrade');
      behind.unshift(...behind.splice(at, 1));
    }
    await saveStackVersion(tx, target);
    const [row] = await tx.insert(rollouts).values({ targetVersion: target.version, startedBy: actor.id }).returning();
    const waves = planWaves(behind, deps.settings);
    await tx
      .insert(rolloutServers)
      .values(waves.flatMap((wave, i) => wave.map((s) => ({ rolloutId: row!.id, serverId: s.id, wave: i, fromVersion: s.version }))));
    await audit(tx, actor, {
      action: 'rollout.start',
      target: row!.id,
      details: { version: target.version, release: target.release, servers: behind.length, waves: waves.length },
    });
    await p.queue.send('rollouts.advance', { rolloutId: row!.id }, { tx, singletonKey: row!.id });
    return { id: row!.id };
  });
}

async function stepError(db: DbOrTx, runId: string): Promise<string | null> {
  const rows = await db
    .select({ error: provisioningSteps.error })
    .from(provisioningSteps)
    .where(and(eq(provisioningSteps.runId, runId), eq(provisioningSteps.status, 'failed')));
  return rows.map((r) => r.error).find(Boolean) ?? null;
}

/** Settles the members whose run ended: succeeded, or failed (rolled back, rollout halted). */
async function settleRuns(deps: FleetDeps, tx: Tx, rollout: RolloutRow, members: MemberRow[]): Promise<RolloutRow> {
  const p = deps.provisioning;
  const now = new Date(p.clock.now());
  for (const m of members) {
    const runId = m.status === 'applying' ? m.runId : m.status === 'rolling_back' ? m.rollbackRunId : null;
    if (!runId) continue;
    const [run] = await tx.select({ status: provisioningRuns.status }).from(provisioningRuns).where(eq(provisioningRuns.id, runId));
    if (!run || run.status === 'running') continue;
    const [server] = await tx.select({ hostname: servers.hostname, workspaceId: servers.workspaceId }).from(servers).where(eq(servers.id, m.serverId));
    const name = server?.hostname ?? m.serverId;
    if (m.status === 'applying' && run.status === 'succeeded') {
      await tx.update(rolloutServers).set({ status: 'succeeded', updatedAt: now }).where(eq(rolloutServers.id, m.id));
      await audit(tx, SYSTEM_ACTOR, {
        action: 'rollout.server_upgraded',
        workspaceId: server?.workspaceId ?? null,
        target: m.serverId,
        details: { rolloutId: rollout.id, version: rollout.targetVersion },
      });
      continue;
    }
    if (m.status === 'applying') {
      const error = (await stepError(tx, runId)) ?? 'the run was cancelled';
      const check = failedCheckOf(error) ?? 'apply';
      const back = m.fromVersion ? await loadStackVersion(tx, m.fromVersion) : null;
      let rollbackRunId: string | null = null;
      if (back)
        rollbackRunId = await startRun(p.queue, tx, {
          serverId: m.serverId,
          kind: 'upgrade',
          params: { stackVersion: back.version, rolloutId: rollout.id, rollback: true },
        });
      await tx
        .update(rolloutServers)
        .set({ status: back ? 'rolling_back' : 'failed', rollbackRunId, failedCheck: check, error, updatedAt: now })
        .where(eq(rolloutServers.id, m.id));
      const reason =
        `${name} failed the "${check}" check after the upgrade to ${rollout.targetVersion}: ${error}` +
        (back ? `; it is being put back on ${back.version}` : '; it had no recorded previous version to go back to');
      if (rollout.status === 'running') {
        const [halted] = await tx
          .update(rollouts)
          .set({ status: 'halted', haltReason: reason, haltedServerId: m.serverId })
          .where(eq(rollouts.id, rollout.id))
          .returning();
        rollout = halted!;
      }
      await p.alerts.open(tx, {
        kind: 'rollout_halted',
        severity: 'critical',
        serverId: m.serverId,
        dedupeKey: alertKeyOf(rollout.id),
        message: `Rollout of stack ${rollout.targetVersion} halted: server ${name} failed the "${check}" check`,
        details: { rolloutId: rollout.id, serverId: m.serverId, hostname: name, check, error, rollbackRunId },
      });
      await audit(tx, SYSTEM_ACTOR, {
        action: 'rollout.halt',
        workspaceId: server?.workspaceId ?? null,
        target: rollout.id,
        details: { serverId: m.serverId, check, error, rollbackTo: back?.version ?? null },
      });
      continue;
    }
    // A rollback ended.
    const ok = run.status === 'succeeded';
    await tx
      .update(rolloutServers)
      .set({ status: ok ? 'rolled_back' : 'rollback_failed', updatedAt: now, ...(ok ? {} : { error: (await stepError(tx, runId)) ?? m.error }) })
      .where(eq(rolloutServers.id, m.id));
    await audit(tx, SYSTEM_ACTOR, {
      action: ok ? 'rollout.server_rolled_back' : 'rollout.rollback_failed',
      workspaceId: server?.workspaceId ?? null,
      target: m.serverId,
      details: { rolloutId: rollout.id, version: m.fromVersion },
    });
    if (!ok) {
      await p.alerts.open(tx, {
        kind: 'rollback_failed',
        severity: 'critical',
        serverId: m.serverId,
        dedupeKey: `rollback:${rollout.id}:${m.serverId}`,
        message: `Server ${name} could not be put back on stack ${m.fromVersion} after a failed rollout`,
        details: { rolloutId: rollout.id, runId },
      });
    }
  }
  return rollout;
}

/** Starts the next wave's servers that may change now; waits for the wave in progress. */
async function startDue(deps: FleetDeps, tx: Tx, rollout: RolloutRow, members: MemberRow[]): Promise<void> {
  const p = deps.provisioning;
  const now = new Date(p.clock.now());
  const open = members.filter((m) => !DONE.has(m.status));
  if (open.length === 0) {
    await tx.update(rollouts).set({ status: 'succeeded', finishedAt: now }).where(eq(rollouts.id, rollout.id));
    await audit(tx, SYSTEM_ACTOR, { action: 'rollout.finished', target: rollout.id, details: { version: rollout.targetVersion, servers: members.length } });
    return;
  }
  const wave = Math.min(...open.map((m) => m.wave));
  for (const m of open.filter((o) => o.wave === wave && (o.status === 'pending' || o.status === 'waiting_window'))) {
    const [server] = await tx.select().from(servers).where(eq(servers.id, m.serverId));
    if (server?.status !== 'ready') {
      await tx
        .update(rolloutServers)
        .set({ status: 'skipped', error: `the server is ${server?.status ?? 'gone'}`, updatedAt: now })
        .where(eq(rolloutServers.id, m.id));
      continue;
    }
    const [busy] = await tx
      .select({ id: provisioningRuns.id })
      .from(provisioningRuns)
      .where(and(eq(provisioningRuns.serverId, m.serverId), eq(provisioningRuns.status, 'running')))
      .limit(1);
    if (busy) continue; // another run (a rotation, a rebuild) first; the sweep comes back.
    const { window } = await windowOf(tx, server, deps.settings.defaultWindow);
    if (!isOpen(window, now)) {
      if (m.status !== 'waiting_window') await tx.update(rolloutServers).set({ status: 'waiting_window', updatedAt: now }).where(eq(rolloutServers.id, m.id));
      continue;
    }
    const [stack] = await tx.select({ version: serverStacks.version }).from(serverStacks).where(eq(serverStacks.serverId, m.serverId));
    const runId = await startRun(p.queue, tx, {
      serverId: m.serverId,
      kind: 'upgrade',
      params: { stackVersion: rollout.targetVersion, rolloutId: rollout.id },
    });
    await tx
      .update(rolloutServers)
      .set({ status: 'applying', runId, fromVersion: stack?.version ?? m.fromVersion, failedCheck: null, error: null, updatedAt: now })
      .where(eq(rolloutServers.id, m.id));
  }
}

export async function advanceRollout(deps: FleetDeps, rolloutId: string): Promise<void> {
  await deps.provisioning.database.db.transaction(async (tx) => {
    const [locked] = await tx.select().from(rollouts).where(eq(rollouts.id, rolloutId)).for('update');
    if (!locked) return;
    const members = () => tx.select().from(rolloutServers).where(eq(rolloutServers.rolloutId, rolloutId)).orderBy(asc(rolloutServers.wave));
    const rollout = await settleRuns(deps, tx, locked, await members());
    if (rollout.status === 'running') await startDue(deps, tx, rollout, await members());
  });
}

/** Every minute: running rollouts (a window may have opened) and halted ones still rolling a server back. */
export async function sweepRollouts(deps: FleetDeps): Promise<number> {
  const live = await deps.provisioning.database.db
    .select({ id: rollouts.id })
    .from(rollouts)
    .where(inArray(rollouts.status, ['running', 'halted']));
  for (const { id } of live) await deps.provisioning.queue.send('rollouts.advance', { rolloutId: id }, { singletonKey: id });
  return live.length;
}
