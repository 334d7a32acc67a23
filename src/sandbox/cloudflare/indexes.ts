/**
 * The account's zones and records as Maps that also keep the lookups the emulator makes on every
 * request: a zone's records, a zone by name. Scanning every record of the account for one zone
 * made each DNS answer and record call cost O(records in the account): with a thousand zones (the
 * benchmark's concurrent provisions) the sandbox, not the product, set the pace. The real API
 * answers these by index too. Subclasses of Map, so every reader (snapshots, listings) is unchanged.
 */
import type { CfRecord, CfZone } from './wire.ts';

export class RecordMap extends Map<string, CfRecord> {
  private readonly byZone = new Map<string, Map<string, CfRecord>>();

  override set(id: string, record: CfRecord): this {
    const old = super.get(id);
    if (old && old.zone_id !== record.zone_id) this.byZone.get(old.zone_id)?.delete(id);
    super.set(id, record);
    const zone = this.byZone.get(record.zone_id) ?? new Map<string, CfRecord>();
    zone.set(id, record);
    this.byZone.set(record.zone_id, zone);
    return this;
  }

  override delete(id: string): boolean {
    const old = super.get(id);
    if (old) this.byZone.get(old.zone_id)?.delete(id);
    return super.delete(id);
  }

  override clear(): void {
    this.byZone.clear();
    super.clear();
  }

  /** The zone's records, in the order they were created (as a filter over the whole map gives them). */
  inZone(zoneId: string): CfRecord[] {
    return [...(this.byZone.get(zoneId)?.values() ?? [])];
  }
}

export class ZoneMap extends Map<string, CfZone> {
  /** Zones by name, oldest first (the account could hold a name twice: the first one wins, as a scan in order gave). */
  private readonly byName = new Map<string, CfZone[]>();

  override set(id: string, zone: CfZone): this {
    this.unindex(id);
    super.set(id, zone);
    const list = this.byName.get(zone.name) ?? [];
    list.push(zone);
    this.byName.set(zone.name, list);
    return this;
  }

  override delete(id: string): boolean {
    this.unindex(id);
    return super.delete(id);
  }

  override clear(): void {
    this.byName.clear();
    super.clear();
  }

  /** Longest-suffix match: the zone that is authoritative for `name` (a few map lookups, one per label). */
  authoritativeFor(name: string): CfZone | null {
    let candidate = name.toLowerCase().replace(/\.$/, '');
    for (;;) {
      const found = this.byName.get(candidate)?.[0];
      if (found) return found;
      const dot = candidate.indexOf('.');
      if (dot < 0) return null;
      candidate = candidate.slice(dot + 1);
    }
  }

  private unindex(id: string): void {
    const old = super.get(id);
    if (!old) return;
    const list = (this.byName.get(old.name) ?? []).filter((z) => z !== old);
    if (list.length) this.byName.set(old.name, list);
    else this.byName.delete(old.name);
  }
}
