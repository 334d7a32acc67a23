/**
 * The DKIM sweep (every minute): the keys whose next_transition_at has come are moved on. An active
 * key due for rotation gets a rotation run; a retiring key is revoked (its records answer `p=` empty
 * and its private keys leave the vault: it never signs again); a revoked key's records are deleted.
 * Each transition is its own job (`dkim.advance`, one per key and state), retried by pg-boss, and
 * written with the state it leaves in its WHERE, so a doubled job moves a key once.
 */
import { and, eq, inArray, isNotNull, isNull, lte, or, sql } from 'drizzle-orm';
import { audit, SYSTEM_ACTOR } from '../audit.ts';
import { dkimKeys, servers } from '../db/schema/index.ts';
import { ConflictError } from '../errors.ts';
import { startDkimRotation } from './dkim-rotation.ts';
import type { ProvisioningDeps } from '../../provisioning/context.ts';
import { dkimOwner } from '../../provisioning/dkim/keys.ts';
import { deleteGenerationRecords, writeGenerationRecords } from '../../provisioning/dkim/records.ts';

export interface DkimSweepResult {
  rotations: string[];
  transitions: string[];
}

export async function sweepDkim(deps: ProvisioningDeps): Promise<DkimSweepResult> {
  const db = deps.database.db;
  const now = new Date(deps.clock.now());
  const days = deps.settings.dkim.rotationDays;
  // An active key made before rotation was scheduled (or while it was off) has no date: its age decides.
  const unscheduled =
    days > 0
      ? and(
          eq(dkimKeys.state, 'active'),
          isNull(dkimKeys.nextTransitionAt),
          sql`coalesce(${dkimKeys.activatedAt}, ${dkimKeys.createdAt}) <= ${new Date(now.getTime() - days * 86_400_000).toISOString()}::timestamptz`,
        )
      : sql`false`;
  const due = await db
    .select({ id: dkimKeys.id, serverId: dkimKeys.serverId, state: dkimKeys.state })
    .from(dkimKeys)
    .where(
      or(
        and(isNotNull(dkimKeys.nextTransitionAt), lte(dkimKeys.nextTransitionAt, now), inArray(dkimKeys.state, ['active', 'retiring', 'revoked'])),
        unscheduled,
      ),
    );
  const out: DkimSweepResult = { rotations: [], transitions: [] };
  for (const key of due) {
    if (key.state !== 'active') {
      await deps.queue.send('dkim.advance', { keyId: key.id }, { singletonKey: `${key.id}:${key.state}` });
      out.transitions.push(key.id);
      continue;
    }
    try {
      await startDkimRotation(deps, SYSTEM_ACTOR, { serverId: key.serverId, reason: 'scheduled rotation', emergency: false });
      out.rotations.push(key.serverId);
    } catch (err) {
      // Not ready, or another run under way: the next sweep tries again.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  return out;
}

/** Moves one key on if it is (still) due: retiring → revoked, revoked → deleted. */
export async function advanceDkimKey(deps: ProvisioningDeps, { keyId }: { keyId: string }): Promise<string | null> {
  const db = deps.database.db;
  const now = deps.clock.now();
  const [key] = await db.select().from(dkimKeys).where(eq(dkimKeys.id, keyId));
  if (!key?.nextTransitionAt || key.nextTransitionAt.getTime() > now || (key.state !== 'retiring' && key.state !== 'revoked')) return null;
  const [server] = await db.select().from(servers).where(eq(servers.id, key.serverId));
  if (!server) return null;
  // A server being removed has its records deleted by deprovisioning: nothing is published to revoke.
  const live = server.status !== 'deleted' && server.status !== 'deprovisioning' && server.dnsZoneId !== null;
  if (key.state === 'retiring') {
    if (live) await writeGenerationRecords(deps.dns, server.dnsZoneId!, key, true);
    const deleteAt = (key.retiredAt?.getTime() ?? now) + deps.settings.dkim.deleteAfterDays * 86_400_000;
    await db.transaction(async (tx) => {
      const [moved] = await tx
        .update(dkimKeys)
        .set({ state: 'revoked', revokedAt: new Date(now), nextTransitionAt: new Date(Math.max(deleteAt, now)) })
        .where(and(eq(dkimKeys.id, key.id), eq(dkimKeys.state, 'retiring')))
        .returning({ id: dkimKeys.id });
      if (!moved) return;
      await deps.vault.remove(tx, dkimOwner(key, server.workspaceId, 'rsa'));
      await deps.vault.remove(tx, dkimOwner(key, server.workspaceId, 'ed25519'));
      await audit(tx, SYSTEM_ACTOR, {
        action: 'dkim.revoked',
        workspaceId: server.workspaceId,
        target: server.id,
        details: { selector: key.selector, ed25519Selector: key.ed25519Selector },
      });
    });
    return 'revoked';
  }
  if (live) await deleteGenerationRecords(deps.dns, server.dnsZoneId!, key);
  await db.transaction(async (tx) => {
    const [moved] = await tx
      .update(dkimKeys)
      .set({ state: 'deleted', deletedAt: new Date(now), nextTransitionAt: null })
      .where(and(eq(dkimKeys.id, key.id), eq(dkimKeys.state, 'revoked')))
      .returning({ id: dkimKeys.id });
    if (moved)
      await audit(tx, SYSTEM_ACTOR, {
        action: 'dkim.deleted',
        workspaceId: server.workspaceId,
        target: server.id,
        details: { selector: key.selector, ed25519Selector: key.ed25519Selector },
      });
  });
  return 'deleted';
}
