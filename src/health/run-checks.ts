/**
 * One health run of one server: compute every check, store each result with
 * the time its status last changed, then mail the workspace owners about the
 * changes they have not been told about — once per change, never per run.
 * "unknown" (could not check) neither notifies nor counts as a change.
 */
import { and, eq, sql } from 'drizzle-orm';
import { dkimKeys, dnsRecords, memberships, serverChecks, serverIps, servers, users } from '../db/schema/index.ts';
import { sendBestEffort } from '../mail/mailer.ts';
import { healthChangeMessage, type CheckChange } from '../mail/messages.ts';
import { findServer } from '../servers/views.ts';
import { backupCheck } from './backup-check.ts';
import { CHECK_TITLES, type CheckResult } from './check-types.ts';
import type { HealthDeps } from './deps.ts';
import { dkimCheck, dmarcCheck, dnssecCheck, mtaStsCheck, nameserversCheck, ptrCheck, recordsCheck, spfCheck, tlsaCheck, type DnsFacts } from './dns-checks.ts';
import { diskCheck } from './disk-check.ts';
import { hostChecks } from './host-checks.ts';
import { blacklistCheck } from './blacklist-check.ts';
import { certificateCheck, portsCheck } from './service-checks.ts';

export async function gatherFacts(deps: Pick<HealthDeps, 'db'>, serverId: string): Promise<DnsFacts> {
  const server = await findServer(deps.db, serverId);
  const [records, [dkim], ips] = await Promise.all([
    deps.db
      .select()
      .from(dnsRecords)
      .where(and(eq(dnsRecords.serverId, server.id), eq(dnsRecords.state, 'published'))),
    deps.db
      .select({ selector: dkimKeys.selector, publicKey: dkimKeys.publicKey })
      .from(dkimKeys)
      .where(and(eq(dkimKeys.serverId, server.id), eq(dkimKeys.state, 'active')))
      .limit(1),
    deps.db
      .select({ address: serverIps.address, family: serverIps.family })
      .from(serverIps)
      .where(and(eq(serverIps.serverId, server.id), eq(serverIps.state, 'active'))),
  ]);
  return { server, records, dkim: dkim ?? null, ips };
}

export async function computeChecks(deps: HealthDeps, facts: DnsFacts): Promise<CheckResult[]> {
  const { lookup, probe } = deps;
  const now = deps.now();
  // Independent lookups run together: a run costs the slowest answer, not their sum.
  const checks = await Promise.all([
    nameserversCheck(lookup, facts),
    recordsCheck(lookup, facts),
    spfCheck(lookup, facts),
    dkimCheck(lookup, facts),
    dmarcCheck(lookup, facts),
    mtaStsCheck(lookup, probe, facts),
    Promise.resolve(dnssecCheck(facts)),
    tlsaCheck(lookup, probe, facts),
    ptrCheck(lookup, facts, 'ipv4'),
    ptrCheck(lookup, facts, 'ipv6'),
    blacklistCheck({ db: deps.db, dnsbl: deps.dnsbl, now, maxAgeMinutes: deps.blacklistMaxAgeMinutes ?? 2 * deps.intervalMinutes }, facts),
    certificateCheck(probe, facts, now),
    portsCheck(probe, facts),
    backupCheck(deps.db, facts, now, deps.backupsConfigured ?? true),
    diskCheck(deps.disk, facts),
    hostChecks(deps.db, facts, now, deps.defaultWindow ?? { startMinute: 180, durationMinutes: 120 }, deps.observeHost),
  ]);
  return checks.flat();
}

export async function runServerChecks(deps: HealthDeps, serverId: string): Promise<{ results: CheckResult[]; notified: CheckChange[] }> {
  // Dated when the run began looking: two runs can overlap (the sweep, a drift check's run, "run the
  // checks now"), and one that looked earlier must not overwrite, nor mail about, what a later one stored.
  const now = deps.now();
  const facts = await gatherFacts(deps, serverId);
  const results = await computeChecks(deps, facts);
  const changes = await deps.db.transaction(async (tx) => {
    // Serialise runs of one server so two workers cannot both claim the same change.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`health:${serverId}`}))`);
    const before = new Map((await tx.select().from(serverChecks).where(eq(serverChecks.serverId, serverId))).map((r) => [r.name, r]));
    const out: CheckChange[] = [];
    const rows: (typeof serverChecks.$inferInsert)[] = [];
    for (const r of results) {
      const prev = before.get(r.name);
      if (prev && prev.checkedAt.getTime() > now.getTime()) continue;
      const changed = !prev || prev.status !== r.status;
      const tell = r.status !== 'unknown' && r.status !== (prev?.notifiedStatus ?? 'pass');
      // Every column decided here from the row read under the lock, so one statement stores them all.
      rows.push({
        serverId,
        name: r.name,
        status: r.status,
        summary: r.summary,
        action: r.action,
        details: r.details,
        checkedAt: now,
        changedAt: changed ? now : prev.changedAt,
        notifiedStatus: tell ? r.status : prev ? prev.notifiedStatus : r.status === 'pass' ? 'pass' : null,
      });
      if (tell) out.push({ title: CHECK_TITLES[r.name], from: prev?.notifiedStatus ?? null, to: r.status, summary: r.summary, action: r.action });
    }
    // One statement for the run's checks (a statement per check was 16 round trips per run, bench/fleet.md).
    if (rows.length > 0) {
      await tx
        .insert(serverChecks)
        .values(rows)
        .onConflictDoUpdate({
          target: [serverChecks.serverId, serverChecks.name],
          set: {
            status: sql`excluded.status`,
            summary: sql`excluded.summary`,
            action: sql`excluded.action`,
            details: sql`excluded.details`,
            checkedAt: sql`excluded.checked_at`,
            changedAt: sql`excluded.changed_at`,
            notifiedStatus: sql`excluded.notified_status`,
          },
        });
    }
    return out;
  });
  if (changes.length > 0) {
    // Only while the server is still ready when the run ends: one that began before a deprovision (a
    // cancellation, a workspace erasure) would otherwise mail that everything is failing as it goes.
    const owners = await deps.db
      .select({ email: users.email })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .innerJoin(servers, and(eq(servers.workspaceId, memberships.workspaceId), eq(servers.id, facts.server.id), eq(servers.status, 'ready')))
      .where(and(eq(memberships.workspaceId, facts.server.workspaceId), eq(memberships.role, 'owner')));
    if (owners.length > 0) {
      await sendBestEffort(
        deps.mailer,
        deps.log,
        healthChangeMessage(
          owners.map((o) => o.email),
          {
            domain: facts.server.domain,
            changes,
            link: `${deps.publicUrl}/w/${facts.server.workspaceId}/servers/${facts.server.id}/health`,
          },
        ),
      );
    }
  }
  return { results, notified: changes };
}

export async function storedChecks(deps: Pick<HealthDeps, 'db'>, serverId: string) {
  return deps.db.select().from(serverChecks).where(eq(serverChecks.serverId, serverId));
}
