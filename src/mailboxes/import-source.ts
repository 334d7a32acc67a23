/**
 * Where a mailbox import may connect (issue 23): the customer names the old IMAP server, and
 * the customer's own server connects to it, so a name that leads into a private network would
 * let anyone probe what sits beside the server (SSRF). The name is resolved here, in the
 * control plane, every address it has must be public, and the run is pinned to one of them
 * (import-mailbox.sh gives doveadm that address for the name), so a DNS answer that changes
 * between this check and the connection (rebinding) is never followed.
 */
import { BlockList, isIP } from 'node:net';
import { AppError } from '../errors.ts';
import type { DnsLookup } from '../providers/lookup/interface.ts';

/** Not reachable as "the internet": private, loopback, link-local, CGNAT, documentation, multicast, reserved. */
const REFUSED_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
] as const;
/**
 * IPv6 is public only inside 2000::/3 (global unicast), minus its special blocks: IETF protocol
 * assignments (Teredo among them), documentation, 6to4 (which embeds any IPv4, private ones too),
 * and the newer documentation and SRv6 blocks. Mapped and NAT64 forms are judged by their IPv4.
 */
const REFUSED_V6 = ['2001::/23', '2001:db8::/32', '2002::/16', '3fff::/20'] as const;

export interface ImportSourcePolicy {
  /**
   * Ranges accepted although not public (MAILBOX_IMPORT_ALLOWED_RANGES): empty in production;
   * the real-host tests set their private test networks here, explicitly.
   */
  allowedRanges: readonly string[];
}

export class ImportSourceRefused extends AppError {
  constructor(detail: string, extensions?: Record<string, unknown>) {
    super({ code: 'import_source_refused', status: 422, title: 'Import source refused', detail, ...(extensions ? { extensions } : {}) });
  }
}

function blockList(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [address, length] = range.split('/');
    const family = isIP(address!) === 6 ? 'ipv6' : 'ipv4';
    if (length === undefined) list.addAddress(address!, family);
    else list.addSubnet(address!, Number(length), family);
  }
  return list;
}

const refusedV4 = blockList(REFUSED_V4);
const refusedV6 = blockList(REFUSED_V6);
const globalUnicast = blockList(['2000::/3']);

/** The IPv4 inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) address, else null. */
function embeddedV4(v6: string): string | null {
  const m = /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(v6);
  if (!m) return null;
  if (m[1]) return m[1];
  const hi = parseInt(m[2]!, 16);
  const lo = parseInt(m[3]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** True for an address anyone on the internet could reach (and so may the customer's server). */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !refusedV4.check(address, 'ipv4');
  if (family !== 6) return false;
  const v4 = embeddedV4(address.toLowerCase());
  if (v4 !== null) return isPublicAddress(v4);
  return globalUnicast.check(address, 'ipv6') && !refusedV6.check(address, 'ipv6');
}

function allowedByPolicy(address: string, policy: ImportSourcePolicy): boolean {
  if (policy.allowedRanges.length === 0) return false;
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return blockList(policy.allowedRanges).check(address, family);
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Resolves `host` (a name, or an address as given) and returns the address to pin. Refuses (422)
 * a name that does not resolve, or any of whose addresses is not public (one private address
 * among public ones is refused too: the server would not choose which one the old host answers on).
 */
export async function resolveImportSource(lookup: DnsLookup, policy: ImportSourcePolicy, host: string): Promise<{ host: string; address: string }> {
  const name = host.trim().toLowerCase().replace(/\.$/, '');
  const literal = name.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  if (isIP(literal)) {
    addresses = [literal];
  } else {
    if (!HOSTNAME.test(name)) throw new ImportSourceRefused(`"${host}" is not a host name (like imap.example.com) or an IP address`);
    const [v4, v6] = await Promise.all([lookup.lookup(name, 'A'), lookup.lookup(name, 'AAAA')]);
    const failed = [v4, v6].find((r) => r.status === 'error');
    if (failed && failed.status === 'error') {
      throw new AppError({
        code: 'import_source_unresolved',
        status: 503,
        title: 'Name lookup failed',
        detail: `${name} could not be looked up now; try again`,
        retryable: true,
      });
    }
    addresses = [...(v4.status === 'ok' ? v4.answers : []), ...(v6.status === 'ok' ? v6.answers : [])];
    if (addresses.length === 0) throw new ImportSourceRefused(`${name} has no address (no A or AAAA record)`);
  }
  const refused = addresses.filter((a) => !isPublicAddress(a) && !allowedByPolicy(a, policy));
  if (refused.length > 0) {
    throw new ImportSourceRefused(
      `${name} resolves to ${refused.join(', ')}, which is not a public address; mail can only be imported from a server on the internet`,
      { addresses: refused },
    );
  }
  // IPv4 first: the address the old provider's clients most surely reach.
  const pinned = addresses.find((a) => isIP(a) === 4) ?? addresses[0]!;
  return { host: isIP(literal) ? literal : name, address: pinned };
}
