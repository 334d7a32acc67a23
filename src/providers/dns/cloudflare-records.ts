/**
 * Translation between the interface's presentation-format records and
 * Cloudflare's record objects. Cloudflare wants TLSA, CAA and SSHFP as a
 * structured `data` object (its `content` for them is derived and its spacing
 * has changed over time) and SRV the same way, TXT as quoted character-strings, and MX with the
 * preference in `priority`; everything else is plain `content`.
 */
import type { RecordCreateParams, RecordResponse } from 'cloudflare/resources/dns/records';
import { ValidationError } from '../../errors.ts';
import { DNS_RECORD_TYPES, type DnsRecord, type DnsRecordInput, type DnsRecordType } from './interface.ts';
import { fromTxtContent, toTxtContent } from './txt.ts';

/** What goes in a create/update body besides zone_id (a member of Cloudflare's record union). */
export type CloudflareRecordBody = Omit<RecordCreateParams, 'zone_id'>;

const AUTOMATIC_TTL = 1;

function fields(type: DnsRecordType, content: string, count: number): string[] {
  const parts = content.trim().split(/\s+/);
  if (parts.length < count) throw new ValidationError(`${type} content "${content}" needs ${count} fields`);
  // The last field (certificate / value / fingerprint) may itself contain spaces only for CAA.
  return [...parts.slice(0, count - 1), parts.slice(count - 1).join(' ')];
}

function integer(type: DnsRecordType, value: string | undefined, field: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 0) throw new ValidationError(`${type} ${field} must be a non-negative integer, got "${value}"`);
  return n;
}

function unquote(value: string): string {
  const v = value.trim();
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(["\\])/g, '$1') : v;
}

export function toCloudflareBody(record: DnsRecordInput): CloudflareRecordBody {
  // Nothing mailplane publishes may go through Cloudflare's proxy: MX targets,
  // SMTP/IMAP hosts and MTA-STS must resolve to the server itself.
  const base = { type: record.type, name: record.name, ttl: record.ttl ?? AUTOMATIC_TTL, proxied: false };
  switch (record.type) {
    case 'MX':
      return { ...base, content: record.content, priority: record.priority ?? 10 } as CloudflareRecordBody;
    case 'TXT':
      return { ...base, content: toTxtContent(record.content) } as CloudflareRecordBody;
    case 'TLSA': {
      const [usage, selector, matchingType, certificate] = fields('TLSA', record.content, 4);
      const data = {
        usage: integer('TLSA', usage, 'usage'),
        selector: integer('TLSA', selector, 'selector'),
        matching_type: integer('TLSA', matchingType, 'matching type'),
        certificate: (certificate ?? '').replace(/\s+/g, '').toLowerCase(),
      };
      return { ...base, data } as CloudflareRecordBody;
    }
    case 'CAA': {
      const [flags, tag, value] = fields('CAA', record.content, 3);
      const data = { flags: integer('CAA', flags, 'flags'), tag: (tag ?? '').toLowerCase(), value: unquote(value ?? '') };
      return { ...base, data } as CloudflareRecordBody;
    }
    case 'SSHFP': {
      const [algorithm, type, fingerprint] = fields('SSHFP', record.content, 3);
      const data = {
        algorithm: integer('SSHFP', algorithm, 'algorithm'),
        type: integer('SSHFP', type, 'type'),
        fingerprint: (fingerprint ?? '').replace(/\s+/g, '').toLowerCase(),
      };
      return { ...base, data } as CloudflareRecordBody;
    }
    case 'SRV': {
      const [priority, weight, port, target] = fields('SRV', record.content, 4);
      const data = {
        priority: integer('SRV', priority, 'priority'),
        weight: integer('SRV', weight, 'weight'),
        port: integer('SRV', port, 'port'),
        target: target === '.' ? '.' : canonicalHost(target ?? ''),
      };
      return { ...base, data } as CloudflareRecordBody;
    }
    default:
      return { ...base, content: record.content } as CloudflareRecordBody;
  }
}

export function isSupportedType(type: string): type is DnsRecordType {
  return (DNS_RECORD_TYPES as readonly string[]).includes(type);
}

type Structured = { data?: Record<string, unknown> };

function presentationContent(raw: RecordResponse): string {
  const content = raw.content ?? '';
  const data = (raw as Structured).data;
  switch (raw.type) {
    case 'TXT':
      return fromTxtContent(content);
    case 'TLSA':
      return data ? `${data['usage']} ${data['selector']} ${data['matching_type']} ${String(data['certificate']).toLowerCase()}` : normalizeSpaces(content);
    case 'CAA':
      return data ? `${data['flags']} ${data['tag']} "${data['value']}"` : normalizeCaa(content);
    case 'SSHFP':
      return data ? `${data['algorithm']} ${data['type']} ${String(data['fingerprint']).toLowerCase()}` : normalizeSpaces(content);
    // From `data`: whether `content` carries the priority has varied between API versions.
    case 'SRV':
      return data
        ? `${data['priority']} ${data['weight']} ${data['port']} ${canonicalHost(String(data['target'])) || '.'}`
        : normalizeSpaces(`${(raw as { priority?: number }).priority ?? 0} ${content}`);
    default:
      return content;
  }
}

function normalizeSpaces(content: string): string {
  return content.trim().split(/\s+/).join(' ').toLowerCase();
}

function normalizeCaa(content: string): string {
  const [flags = '0', tag = '', value = ''] = fields('CAA', content, 3);
  return `${flags} ${tag.toLowerCase()} "${unquote(value)}"`;
}

/** A Cloudflare record as the interface sees it; null for types mailplane does not manage. */
export function fromCloudflare(raw: RecordResponse): DnsRecord | null {
  if (!isSupportedType(raw.type)) return null;
  const record: DnsRecord = { id: raw.id, type: raw.type, name: raw.name, content: presentationContent(raw), ttl: raw.ttl };
  if (raw.type === 'MX' && typeof raw.priority === 'number') record.priority = raw.priority;
  return record;
}

function canonicalHost(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function canonicalContent(type: DnsRecordType, content: string): string {
  switch (type) {
    case 'A':
      return content.trim();
    case 'AAAA':
      try {
        // The URL parser compresses and lower-cases IPv6, as Cloudflare does.
        return new URL(`http://[${content.trim()}]`).hostname.slice(1, -1);
      } catch {
        return content.trim().toLowerCase();
      }
    case 'CNAME':
    case 'MX':
      return canonicalHost(content);
    case 'TXT':
      return content;
    case 'CAA':
      return normalizeCaa(content);
    default:
      return normalizeSpaces(content);
  }
}

/** Same type, name and content (in canonical form): the default upsert slot. */
export function sameRecordData(a: DnsRecordInput, b: DnsRecordInput): boolean {
  return a.type === b.type && canonicalHost(a.name) === canonicalHost(b.name) && canonicalContent(a.type, a.content) === canonicalContent(b.type, b.content);
}

/** Whether `existing` already is exactly `desired` (TTL and MX priority included). */
export function isSameRecord(existing: DnsRecord, desired: DnsRecordInput): boolean {
  if (!sameRecordData(existing, desired)) return false;
  if ((existing.ttl ?? AUTOMATIC_TTL) !== (desired.ttl ?? AUTOMATIC_TTL)) return false;
  return desired.type !== 'MX' || (existing.priority ?? 10) === (desired.priority ?? 10);
}
