/**
 * One open `ip_listed` alert per listed IP of a server, naming every DNSBL zone that lists it.
 * A listing on seven zones is one incident with one remedy (rotate the IP), not seven pages to
 * acknowledge one by one. As zones list or delist the address the alert's zones and message
 * follow; it is resolved when no zone lists the address any more. A zone that does not answer
 * this time keeps its last verdict: silence is not a delisting.
 *
 * Alerts opened before this (one per zone, keys `ip_listed:<server>:<ip>:<zone>`) are folded into
 * the IP's alert the first time the IP is checked again, so no old alert stays open forever.
 */
import { and, eq, isNull, like } from 'drizzle-orm';
import { alerts } from '../db/schema/index.ts';
import type { Tx } from '../db/client.ts';
import type { DnsblVerdict } from '../providers/lookup/interface.ts';
import { enqueueDeliveries } from './alert-delivery.ts';
import { ipListedKey } from './alert-keys.ts';
import type { OpsDeps } from './deps.ts';

export interface ZoneListing {
  zone: string;
  codes: string[];
  meaning: string[];
}

export interface ListingChange {
  alertId: string | null;
  /** Zones that list the address now and did not before. */
  added: string[];
  /** Zones that listed it before and say it is clean now. */
  removed: string[];
}

/** The zones an open alert names (legacy per-zone alerts name one, in `details.zone`). */
function zonesOf(details: Record<string, unknown>): ZoneListing[] {
  if (Array.isArray(details['zones'])) return details['zones'] as ZoneListing[];
  const zone = details['zone'];
  return typeof zone === 'string'
    ? [{ zone, codes: (details['codes'] as string[] | undefined) ?? [], meaning: (details['meaning'] as string[] | undefined) ?? [] }]
    : [];
}

export function listingMessage(hostname: string, address: string, zones: ZoneListing[]): string {
  const named = zones.map((z) => (z.codes.length ? `${z.zone} (${z.codes.join(', ')})` : z.zone)).join(', ');
  return `${hostname}: ${address} is listed on ${zones.length} DNSBL zone${zones.length === 1 ? '' : 's'}: ${named}`;
}

export async function recordIpListings(
  deps: Pick<OpsDeps, 'alerts' | 'queue' | 'settings'>,
  tx: Tx,
  input: { serverId: string; hostname: string; address: string; family: string; verdicts: DnsblVerdict[]; now: Date },
): Promise<ListingChange> {
  const key = ipListedKey(input.serverId, input.address);
  const [current] = await tx
    .select()
    .from(alerts)
    .where(and(eq(alerts.dedupeKey, key), isNull(alerts.resolvedAt)))
    .for('update');
  const legacy = await tx
    .select()
    .from(alerts)
    .where(and(like(alerts.dedupeKey, `${key}:%`), eq(alerts.kind, 'ip_listed'), isNull(alerts.resolvedAt)))
    .for('update');
  const before = new Map([...legacy, ...(current ? [current] : [])].flatMap((a) => zonesOf(a.details)).map((z) => [z.zone, z]));

  const verdictOf = new Map(input.verdicts.map((v) => [v.zone, v]));
  const zones = new Map<string, ZoneListing>();
  for (const v of input.verdicts) if (v.status === 'listed') zones.set(v.zone, { zone: v.zone, codes: v.codes, meaning: v.meaning });
  for (const [zone, listing] of before) if (verdictOf.get(zone)?.status === 'unknown' && !zones.has(zone)) zones.set(zone, listing);
  const listed = [...zones.values()].sort((a, b) => a.zone.localeCompare(b.zone));
  const added = listed.map((z) => z.zone).filter((z) => !before.has(z));
  const removed = [...before.keys()].filter((z) => !zones.has(z) && verdictOf.get(z)?.status === 'clean');

  // The per-zone alerts of old are superseded by the IP's one (or by nothing, if the address is clean now).
  if (legacy.length > 0) {
    for (const a of legacy) await tx.update(alerts).set({ resolvedAt: input.now }).where(eq(alerts.id, a.id));
  }
  if (listed.length === 0) {
    if (current) {
      await tx.update(alerts).set({ resolvedAt: input.now }).where(eq(alerts.id, current.id));
      await enqueueDeliveries(deps, tx, current.id, 'resolved');
    }
    return { alertId: current?.id ?? null, added, removed };
  }
  const message = listingMessage(input.hostname, input.address, listed);
  const details = { address: input.address, family: input.family, zones: listed };
  if (!current) {
    const opened = await deps.alerts.open(tx, { kind: 'ip_listed', severity: 'critical', serverId: input.serverId, dedupeKey: key, message, details });
    if (opened.created) await enqueueDeliveries(deps, tx, opened.id, 'opened');
    return { alertId: opened.id, added, removed };
  }
  if (added.length > 0 || removed.length > 0) {
    await tx.update(alerts).set({ message, details }).where(eq(alerts.id, current.id));
  }
  return { alertId: current.id, added, removed };
}
