/**
 * What Cloudflare checks before it accepts a DNS record, with its error codes:
 * the name must be inside the zone (relative names and "@" are completed),
 * content must fit the type, TTL is 1 (automatic) or 60..86400, only A, AAAA
 * and CNAME can be proxied, MX needs a priority, and TLSA/CAA/SSHFP come as a
 * structured `data` object from which the content is derived. TXT
 * character-strings over 255 bytes are refused, so a client that forgets to
 * split a DKIM key finds out here rather than in production.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { CfApiError, type CfRecord } from './wire.ts';

export const SUPPORTED_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'TLSA', 'CAA', 'SSHFP', 'SRV', 'NS'] as const;
const PROXIABLE = new Set(['A', 'AAAA', 'CNAME']);
const HOSTNAME = /^(?=.{1,253}$)(\*\.)?([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
const HEX = /^[0-9a-f]+$/;

export type RecordFields = Pick<CfRecord, 'name' | 'type' | 'content' | 'proxied' | 'proxiable' | 'ttl' | 'comment' | 'tags'> & {
  data?: Record<string, string | number>;
  priority?: number;
};

function invalid(code: number, message: string): never {
  throw CfApiError.invalid(code, message);
}

export function fullName(name: unknown, zoneName: string): string {
  if (typeof name !== 'string' || name.trim() === '') invalid(9000, 'DNS name is invalid.');
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  if (n === '@' || n === zoneName) return zoneName;
  const fqdn = n.endsWith(`.${zoneName}`) ? n : `${n}.${zoneName}`;
  if (!HOSTNAME.test(fqdn)) invalid(9000, 'DNS name is invalid.');
  return fqdn;
}

function intIn(value: unknown, min: number, max: number, code: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    invalid(code, `${what} must be an integer between ${min} and ${max}.`);
  return value;
}

function hex(value: unknown, code: number, what: string): string {
  const v = typeof value === 'string' ? value.toLowerCase() : '';
  if (!HEX.test(v) || v.length % 2 !== 0) invalid(code, `${what} must be a hexadecimal string.`);
  return v;
}

function data(body: Record<string, unknown>, type: string): Record<string, unknown> {
  const d = body['data'];
  if (!d || typeof d !== 'object') invalid(9101, `${type} records require a data object.`);
  return d as Record<string, unknown>;
}

/** Unescaped byte length of each quoted character-string in TXT content. */
function characterStringLengths(content: string): number[] {
  const text = content.trim();
  if (!text.startsWith('"')) return [Buffer.byteLength(text, 'utf8')];
  const lengths: number[] = [];
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"/g)) lengths.push(Buffer.byteLength((m[1] ?? '').replace(/\\(.)/g, '$1'), 'utf8'));
  return lengths;
}

function content(type: string, body: Record<string, unknown>): Pick<RecordFields, 'content' | 'data' | 'priority'> {
  const raw = typeof body['content'] === 'string' ? body['content'].trim() : '';
  switch (type) {
    case 'A':
      if (!isIPv4(raw)) invalid(9005, 'Content for A record is invalid. Must be a valid IPv4 address');
      return { content: raw };
    case 'AAAA':
      if (!isIPv6(raw)) invalid(9006, 'Content for AAAA record is invalid. Must be a valid IPv6 address');
      return { content: new URL(`http://[${raw}]`).hostname.slice(1, -1) };
    case 'CNAME':
    case 'NS': {
      const host = raw.toLowerCase().replace(/\.$/, '');
      if (!HOSTNAME.test(host)) invalid(9007, `Content for ${type} record is invalid.`);
      return { content: host };
    }
    case 'MX': {
      const host = raw.toLowerCase().replace(/\.$/, '');
      if (!HOSTNAME.test(host)) invalid(9007, 'Content for MX record is invalid.');
      if (body['priority'] === undefined) invalid(9100, 'priority is required for MX records.');
      return { content: host, priority: intIn(body['priority'], 0, 65535, 9100, 'priority') };
    }
    case 'TXT': {
      if (raw === '') invalid(9004, 'Content for TXT record is invalid.');
      if (raw.length > 2048) invalid(9101, 'Content for TXT record is too long (2048 characters at most).');
      if (characterStringLengths(raw).some((n) => n > 255)) invalid(9101, 'A TXT character-string is longer than 255 bytes; split it into quoted strings.');
      return { content: raw };
    }
    case 'TLSA': {
      const d = data(body, type);
      const usage = intIn(d['usage'], 0, 3, 9101, 'usage');
      const selector = intIn(d['selector'], 0, 1, 9101, 'selector');
      const matching = intIn(d['matching_type'], 0, 2, 9101, 'matching_type');
      const certificate = hex(d['certificate'], 9101, 'certificate');
      return { content: `${usage} ${selector} ${matching} ${certificate}`, data: { usage, selector, matching_type: matching, certificate } };
    }
    case 'CAA': {
      const d = data(body, type);
      const flags = intIn(d['flags'], 0, 255, 9101, 'flags');
      const tag = typeof d['tag'] === 'string' ? d['tag'].toLowerCase() : '';
      if (!['issue', 'issuewild', 'iodef'].includes(tag)) invalid(9101, 'tag must be one of issue, issuewild, iodef.');
      if (typeof d['value'] !== 'string') invalid(9101, 'value is required.');
      return { content: `${flags} ${tag} "${d['value']}"`, data: { flags, tag, value: d['value'] } };
    }
    case 'SSHFP': {
      const d = data(body, type);
      const algorithm = intIn(d['algorithm'], 1, 6, 9101, 'algorithm');
      const fpType = intIn(d['type'], 1, 2, 9101, 'type');
      const fingerprint = hex(d['fingerprint'], 9101, 'fingerprint');
      return { content: `${algorithm} ${fpType} ${fingerprint}`, data: { algorithm, type: fpType, fingerprint } };
    }
    case 'SRV': {
      // Cloudflare takes SRV as `data`; the answer's content is "weight port target" beside `priority`.
      const d = data(body, type);
      const priority = intIn(d['priority'], 0, 65535, 9101, 'priority');
      const weight = intIn(d['weight'], 0, 65535, 9101, 'weight');
      const port = intIn(d['port'], 0, 65535, 9101, 'port');
      const target = typeof d['target'] === 'string' ? d['target'].toLowerCase().replace(/(.)\.$/, '$1') : '';
      if (target !== '.' && !HOSTNAME.test(target)) invalid(9101, 'target must be a valid hostname.');
      return { content: `${weight} ${port} ${target}`, priority, data: { priority, weight, port, target } };
    }
    default:
      return invalid(9020, 'Invalid DNS record type');
  }
}

/** Validates a create/update body for a zone and returns the stored fields. */
export function recordFields(body: unknown, zoneName: string): RecordFields {
  if (!body || typeof body !== 'object') invalid(9207, 'Request body is invalid.');
  const b = body as Record<string, unknown>;
  const type = typeof b['type'] === 'string' ? b['type'].toUpperCase() : '';
  if (!(SUPPORTED_TYPES as readonly string[]).includes(type)) invalid(9020, 'Invalid DNS record type');
  const name = fullName(b['name'], zoneName);
  const ttl = b['ttl'] === undefined ? 1 : b['ttl'];
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || (ttl !== 1 && (ttl < 60 || ttl > 86400))) {
    invalid(9021, 'Invalid TTL. Must be between 60 and 86,400 seconds, or 1 for Automatic.');
  }
  const proxiable = PROXIABLE.has(type);
  const proxied = b['proxied'] === true;
  if (proxied && !proxiable) invalid(9004, 'This record type cannot be proxied.');
  const comment = typeof b['comment'] === 'string' ? b['comment'] : null;
  const tags = Array.isArray(b['tags']) ? b['tags'].filter((t): t is string => typeof t === 'string') : [];
  return { type, name, ttl, proxiable, proxied, comment, tags, ...content(type, b) };
}
