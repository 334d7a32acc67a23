/**
 * Ongoing blacklist monitoring of live servers.
 *
 * Spreading: a per-minute sweep (`ops.monitor_sweep`) enqueues a check job for
 * the servers whose time has come (server_schedules, src/jobs/due-sweep.ts): every
 * server is checked once per MONITOR_INTERVAL_MINUTES at its own point of the
 * interval, chosen at random when the sweep first sees it, so the load is spread
 * evenly; found by an index, whatever the size of the fleet. A server whose time
 * passed while no worker ran is checked at the next sweep.
 *
 * Per IP: one open alert naming every zone that lists it (listing-alerts.ts),
 * its zones following the verdicts and resolved when none lists it; an unknown
 * verdict is stored as a check error and counted towards the zone's health
 * (zone-health.ts). Every
 * verdict is recorded in blacklist_checks. Active IPs keep their `active` state
 * (their current listings are in `listings`): re-running publish_dns must never
 * drop a listed-but-live address from the DNS.
 */
import { and, eq } from 'drizzle-orm';
import { SYSTEM_ACTOR } from '../audit.ts';
import { blacklistChecks, serverIps, servers } from '../db/schema/index.ts';
import { ConflictError } from '../errors.ts';
import { claimDue } from '../jobs/due-sweep.ts';
import { recordIpListings } from './listing-alerts.ts';
import type { OpsDeps } from './deps.ts';
import { startIpRotation } from './rotation.ts';
import { resolveZones, updateZoneHealth } from './zone-health.ts';

const LIVE = ['ready', 'suspended'] as const;

/** At most this many servers queued a minute: 10,000 servers every hour need about 170. */
export const MONITOR_SWEEP_LIMIT = 1_000;

/** Enqueues the checks that are due (server_schedules); the singleton key makes a doubled sweep harmless. */
export async function sweepMonitor(deps: OpsDeps): Promise<string[]> {
  const now = new Date(deps.clock.now());
  const due = await claimDue(deps.database.db, {
    kind: 'blacklists',
    statuses: LIVE,
    intervalMinutes: deps.settings.monitorIntervalMinutes,
    now,
    limit: MONITOR_SWEEP_LIMIT,
  });
  const minute = Math.floor(now.getTime() / 60_000);
  await deps.queue.sendMany(
    'ops.check_server',
    due.map((serverId) => ({ data: { serverId }, singletonKey: `${serverId}:${minute}` })),
  );
  return due;
}

export interface CheckSummary {
  checked: string[];
  newListings: Array<{ address: string; zone: string; alertId: string }>;
  delisted: Array<{ address: string; zone: string }>;
  unknown: Array<{ address: string; zone: string }>;
  rotation: { runId: string; address: string } | null;
}

export async function checkServer(deps: OpsDeps, serverId: string): Promise<CheckSummary> {
  const summary: CheckSummary = { checked: [], newListings: [], delisted: [], unknown: [], rotation: null };
  const [server] = await deps.database.db.select().from(servers).where(eq(servers.id, serverId));
  if (!server || !(LIVE as readonly string[]).includes(server.status)) return summary;
  const ips = await deps.database.db
    .select()
    .from(serverIps)
    .where(and(eq(serverIps.serverId, serverId), eq(serverIps.state, 'active')));
  // Every address's zones asked at once, then everything stored in one transaction: a statement per
  // verdict and a transaction per address were ~26 statements a server (bench/fleet.md).
  const checks = await Promise.all(ips.map(async (ip) => ({ ip, verdicts: await deps.dnsbl.check(ip.address) })));
  const now = new Date(deps.clock.now());
  if (checks.length > 0)
    await deps.database.db.transaction(async (tx) => {
      const rows = checks.flatMap(({ ip, verdicts }) =>
        verdicts.map((v) => ({
          serverId,
          address: ip.address,
          zone: v.zone,
          status: v.status,
          checkedAt: now,
          codes: v.status === 'listed' ? v.codes : [],
          error: v.status === 'unknown' ? v.error : null,
        })),
      );
      if (rows.length > 0) await tx.insert(blacklistChecks).values(rows);
      for (const { ip, verdicts } of checks) {
        summary.checked.push(ip.address);
        const listings = verdicts.flatMap((v) => (v.status === 'listed' ? [{ zone: v.zone, codes: v.codes, meaning: v.meaning }] : []));
        await tx.update(serverIps).set({ listings, checkedAt: now }).where(eq(serverIps.id, ip.id));
        const change = await recordIpListings(deps, tx, { serverId, hostname: server.hostname, address: ip.address, family: ip.family, verdicts, now });
        for (const zone of change.added) summary.newListings.push({ address: ip.address, zone, alertId: change.alertId! });
        for (const zone of change.removed) summary.delisted.push({ address: ip.address, zone });
        for (const v of verdicts) if (v.status === 'unknown') summary.unknown.push({ address: ip.address, zone: v.zone });
      }
      // A zone that answered for any address is healthy; one that answered none counts towards its failing alert.
      const verdicts = checks.flatMap((c) => c.verdicts);
      const answered = new Set(verdicts.filter((v) => v.status !== 'unknown').map((v) => v.zone));
      await resolveZones(deps, tx, [...answered]);
      for (const zone of new Set(verdicts.filter((v) => !answered.has(v.zone)).map((v) => v.zone))) await updateZoneHealth(deps, tx, zone, false);
    });
  if (deps.settings.autoRotateListed && server.status === 'ready' && summary.newListings.length > 0) {
    const address = summary.newListings[0]!.address;
    try {
      summary.rotation = await startIpRotation(deps, SYSTEM_ACTOR, { serverId, address, reason: 'auto: listed by the blacklist monitor' });
      deps.log.warn({ serverId, address, runId: summary.rotation.runId }, 'listed IP: rotation started (AUTO_ROTATE_LISTED)');
    } catch (err) {
      // A run already in progress (perhaps rotating this very IP) is fine: the next check sees the outcome.
      if (!(err instanceof ConflictError)) throw err;
      deps.log.warn({ serverId, address, reason: err.message }, 'listed IP: automatic rotation not started');
    }
  }
  return summary;
}
