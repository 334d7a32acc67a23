/** Addresses and CIDRs as configuration and templates accept them (node:net checks the address). */
import { isIP } from 'node:net';

/** 203.0.113.7, 2001:db8::7, 203.0.113.0/24 or 2001:db8::/48. */
export function isAddressOrCidr(value: string): boolean {
  const [address, length, ...rest] = value.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0 || address!.includes('%')) return false;
  if (length === undefined) return true;
  return /^\d{1,3}$/.test(length) && Number(length) <= (family === 4 ? 32 : 128);
}
