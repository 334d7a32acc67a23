/** The checks, in the order the health page lists them, and the shape of one result. */
import type { CheckStatus } from '../db/schema/index.ts';

export const CHECK_TITLES = {
  nameservers: 'Nameservers delegated',
  dns_records: 'DNS records published',
  spf: 'SPF passes for the server',
  dkim: 'DKIM key published',
  dmarc: 'DMARC policy',
  mta_sts: 'MTA-STS policy',
  dnssec: 'DNSSEC active',
  tlsa: 'DANE TLSA record',
  ptr_ipv4: 'Reverse DNS (IPv4)',
  ptr_ipv6: 'Reverse DNS (IPv6)',
  blacklists: 'IPs absent from blacklists',
  certificate: 'TLS certificate',
  ports: 'Mail ports answering',
  backups: 'Backup in the last 26 hours',
  disk: 'Disk space',
  services: 'Mail services running',
  drift: 'Managed files as applied',
  updates: 'System updates and reboots',
} as const;

export type CheckName = keyof typeof CHECK_TITLES;
export const CHECK_NAMES = Object.keys(CHECK_TITLES) as CheckName[];

export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  /** What was seen, in one sentence. */
  summary: string;
  /** When not passing: what to do, in one sentence. */
  action: string | null;
  details: Record<string, unknown>;
}

export const result = (
  name: CheckName,
  status: CheckStatus,
  summary: string,
  action: string | null = null,
  details: Record<string, unknown> = {},
): CheckResult => ({ name, status, summary, action: status === 'pass' ? null : action, details });
