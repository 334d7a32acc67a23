/**
 * Cloudflare's DNS record scan, as the API offers it for a zone whose
 * nameservers have not moved yet: `POST …/dns_records/scan/trigger` starts a
 * scan of the domain's current public DNS, `GET …/scan/review` lists what it
 * found (temporary records, not in the zone), `POST …/scan/review` accepts
 * records into the zone and rejects others; the older synchronous
 * `POST …/dns_records/scan` adds everything it finds at once.
 *
 * Like the real one, the scan only asks for common names (the apex, www,
 * mail, ftp, …): a record at a name it does not guess (`crm.example.com`) is
 * not found, and the customer has to add it by hand. What the domain served
 * before the move is given to the emulator per domain (`publicDns`).
 */
import { randomBytes } from 'node:crypto';
import { toTxtContent } from '../../providers/dns/txt.ts';
import type { CloudflareState, PublicRecord } from './state.ts';
import { recordFields } from './record-rules.ts';
import { CfApiError, type CfRecord } from './wire.ts';

/** Labels the scan asks about below the apex (the apex itself is always asked). */
const COMMON_LABELS = [
  'www',
  'mail',
  'ftp',
  'webmail',
  'smtp',
  'imap',
  'pop',
  'blog',
  'shop',
  'store',
  'api',
  'app',
  'dev',
  'staging',
  'cpanel',
  'autodiscover',
  'autoconfig',
  'm',
  'cdn',
  'docs',
  'help',
  'support',
  'status',
  '_dmarc',
];
const SCANNED_TYPES = new Set(['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'CAA']);

function scannable(zoneName: string, name: string): boolean {
  if (name === zoneName) return true;
  return COMMON_LABELS.some((label) => name === `${label}.${zoneName}`);
}

/** A public record as a create body (the structured `data` for CAA, quoted strings for TXT). */
export function publicRecordBody(r: PublicRecord): Record<string, unknown> {
  const base = { type: r.type, name: r.name, ttl: r.ttl ?? 1, proxied: false };
  switch (r.type) {
    case 'TXT':
      return { ...base, content: toTxtContent(r.content) };
    case 'MX':
      return { ...base, content: r.content, priority: r.priority ?? 10 };
    case 'CAA': {
      const m = /^(\d+)\s+(\S+)\s+"?(.*?)"?$/.exec(r.content.trim());
      return { ...base, data: { flags: Number(m?.[1] ?? 0), tag: m?.[2] ?? '', value: m?.[3] ?? '' } };
    }
    default:
      return { ...base, content: r.content };
  }
}

function sameData(a: Pick<CfRecord, 'type' | 'name' | 'content'>, b: Pick<CfRecord, 'type' | 'name' | 'content'>): boolean {
  return a.type === b.type && a.name === b.name && a.content === b.content;
}

/** Starts (here: completes) a scan; records already in the zone or already found are not found twice. */
export function triggerScan(state: CloudflareState, zoneId: string): void {
  const zone = state.zone(zoneId);
  const found = state.scanned.get(zoneId) ?? [];
  const inZone = state.zoneRecords(zoneId);
  for (const record of state.publicDns.get(zone.name) ?? []) {
    if (!SCANNED_TYPES.has(record.type) || !scannable(zone.name, record.name)) continue;
    const fields = recordFields(publicRecordBody(record), zone.name);
    if (inZone.some((r) => sameData(r, fields)) || found.some((r) => sameData(r, fields))) continue;
    const at = new Date().toISOString();
    found.push({
      id: randomBytes(16).toString('hex'),
      zone_id: zone.id,
      zone_name: zone.name,
      ...fields,
      settings: {},
      meta: { scanned: true },
      created_on: at,
      modified_on: at,
    });
  }
  state.scanned.set(zoneId, found);
}

export function scannedRecords(state: CloudflareState, zoneId: string): CfRecord[] {
  state.zone(zoneId);
  return state.scanned.get(zoneId) ?? [];
}

/** Accepted records join the zone (with the zone's usual checks); rejected ones are forgotten. */
export function reviewScan(state: CloudflareState, zoneId: string, body: unknown): { accepts: CfRecord[]; rejects: string[] } {
  const zone = state.zone(zoneId);
  const b = (body ?? {}) as { accepts?: unknown; rejects?: unknown };
  if ((b.accepts !== undefined && !Array.isArray(b.accepts)) || (b.rejects !== undefined && !Array.isArray(b.rejects))) {
    throw CfApiError.invalid(9207, 'Request body is invalid.');
  }
  let found = state.scanned.get(zoneId) ?? [];
  const accepted: CfRecord[] = [];
  for (const accept of (b.accepts ?? []) as unknown[]) {
    const fields = recordFields(accept, zone.name);
    accepted.push(state.createRecord(zoneId, accept));
    found = found.filter((r) => !sameData(r, fields));
  }
  const rejected: string[] = [];
  for (const reject of (b.rejects ?? []) as Array<{ id?: unknown }>) {
    if (typeof reject?.id !== 'string') throw CfApiError.invalid(9207, 'Each reject needs the id of a scanned record.');
    found = found.filter((r) => r.id !== reject.id);
    rejected.push(reject.id);
  }
  state.scanned.set(zoneId, found);
  return { accepts: accepted, rejects: rejected };
}

/** The deprecated synchronous scan: everything found goes into the zone at once. */
export function scanAndAdd(state: CloudflareState, zoneId: string): { recs_added: number; total_records_parsed: number } {
  triggerScan(state, zoneId);
  const found = state.scanned.get(zoneId) ?? [];
  let added = 0;
  for (const r of found) {
    try {
      state.createRecord(zoneId, { type: r.type, name: r.name, content: r.content, ttl: r.ttl, priority: r.priority, data: r.data });
      added++;
    } catch {
      // A conflicting record (e.g. a CNAME where the zone has an A) is skipped, as Cloudflare does.
    }
  }
  state.scanned.set(zoneId, []);
  return { recs_added: added, total_records_parsed: found.length };
}
