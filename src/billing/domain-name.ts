/** Customer domain validation: what may be served by a mail server (LDH labels, a real suffix, no IPs). */
import { z } from 'zod';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function isValidMailDomain(domain: string): boolean {
  if (domain.length > 253 || domain.endsWith('.')) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  if (!labels.every((l) => LABEL.test(l))) return false;
  // The top-level label is alphabetic (or an IDN punycode label): rules out IP addresses.
  const tld = labels.at(-1)!;
  return /^[a-z]{2,63}$/.test(tld) || /^xn--[a-z0-9-]{1,59}$/.test(tld);
}

export const DomainSchema = z.string().trim().toLowerCase().refine(isValidMailDomain, {
  message: 'must be a domain name like example.com (letters, digits, hyphens; no trailing dot)',
});
