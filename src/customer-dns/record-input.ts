/**
 * A record the customer asks for, checked and put in the form Cloudflare
 * stores: the name completed inside the domain ("@" and relative names), the
 * content checked for its type (an address for A/AAAA, a host name for CNAME
 * and MX, a CAA property), and the TTL automatic (1) or 60..86400 seconds.
 * Bad input is a ValidationError (400) naming the field.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ValidationError } from '../errors.ts';

export const CUSTOMER_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'CAA'] as const;
export type CustomerRecordType = (typeof CUSTOMER_RECORD_TYPES)[number];

export interface CustomerRecordInput {
  type: CustomerRecordType;
  name: string;
  content: string;
  priority?: number | undefined;
  ttl?: number | undefined;
}

export interface NormalizedRecord {
  type: CustomerRecordType;
  name: string;
  content: string;
  priority: number | null;
  ttl: number;
}

const LABEL = /^(?:\*|[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)$/;
const HOST = /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/;

function bad(field: string, message: string): never {
  throw new ValidationError(message, { errors: [{ path: field, message }] });
}

/** The fully qualified name inside `domain` ("@" is the apex; a name outside the domain is refused). */
export function fullName(name: string, domain: string): string {
  const absolute = name.trim().endsWith('.');
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  if (n === '@' || n === domain) return domain;
  // A trailing dot means the name is complete: one outside the domain is not the customer's to set.
  if (absolute && !n.endsWith(`.${domain}`)) bad('name', `${name} is not inside ${domain}`);
  const fqdn = n.endsWith(`.${domain}`) ? n : `${n}.${domain}`;
  const labels = fqdn.slice(0, -(domain.length + 1)).split('.');
  if (fqdn.length > 253 || labels.some((l) => !LABEL.test(l)) || labels.slice(1).includes('*')) bad('name', `"${name}" is not a name inside ${domain}`);
  return fqdn;
}

function host(field: string, value: string): string {
  const h = value.trim().toLowerCase().replace(/\.$/, '');
  if (!HOST.test(h)) bad(field, `"${value}" is not a host name`);
  return h;
}

export function normalizeRecord(input: CustomerRecordInput, domain: string): NormalizedRecord {
  const name = fullName(input.name, domain);
  const ttl = input.ttl ?? 1;
  if (!Number.isInteger(ttl) || (ttl !== 1 && (ttl < 60 || ttl > 86400))) bad('ttl', 'ttl is 1 (automatic) or 60 to 86400 seconds');
  const raw = input.content.trim();
  let content: string;
  let priority: number | null = null;
  switch (input.type) {
    case 'A':
      if (!isIPv4(raw)) bad('content', `"${raw}" is not an IPv4 address`);
      content = raw;
      break;
    case 'AAAA':
      if (!isIPv6(raw)) bad('content', `"${raw}" is not an IPv6 address`);
      content = new URL(`http://[${raw}]`).hostname.slice(1, -1);
      break;
    case 'CNAME':
      if (name === domain) bad('name', 'a CNAME cannot be at the apex of the domain (it would hide the MX and every other apex record)');
      content = host('content', raw);
      break;
    case 'MX':
      content = host('content', raw);
      priority = input.priority ?? 10;
      if (!Number.isInteger(priority) || priority < 0 || priority > 65535) bad('priority', 'priority is 0 to 65535');
      break;
    case 'TXT':
      // Logical string; the adapter splits it into 255-byte character-strings.
      if (raw.length === 0 || raw.length > 2048 || /[\u0000-\u001f\u007f]/.test(raw)) bad('content', 'TXT content is 1 to 2048 printable characters');
      content = raw.replace(/^"(.*)"$/s, '$1');
      break;
    case 'CAA': {
      const m = /^(\d{1,3})\s+(issue|issuewild|iodef)\s+"?([^"]*)"?$/i.exec(raw);
      if (!m || Number(m[1]) > 255) bad('content', 'CAA content is `flags tag "value"`, e.g. 0 issue "letsencrypt.org"');
      content = `${Number(m[1])} ${m[2]!.toLowerCase()} "${m[3]}"`;
      break;
    }
  }
  return { type: input.type, name, content, priority, ttl };
}
