/**
 * set_ptr: reverse DNS for the IPv4 (Instance API) and an address of the IPv6
 * /64 (IPAM) — only once the forward A/AAAA resolve to those addresses, so the
 * reverse is forward-confirmed the moment it exists (receivers check FCrDNS).
 */
import { ProviderError } from '../../src/errors.ts';
import type { Zone } from '../../src/providers/compute/interface.ts';
import type { StepDefinition } from '../context.ts';
import { currentIps } from '../ips.ts';

export const setPtr: StepDefinition = {
  name: 'set_ptr',
  // Forward records can take a while to be visible; keep trying well past the default.
  maxAttempts: 20,
  async run({ deps, server, log }) {
    const ips = (await currentIps(deps, server.id)).filter((ip) => ip.state !== 'listed');
    for (const ip of ips) {
      const type = ip.family === 'ipv4' ? 'A' : 'AAAA';
      const answer = await deps.lookup.lookup(server.hostname, type);
      const seen = answer.status === 'ok' ? answer.answers : [];
      if (!seen.some((a) => sameAddress(a, ip.address))) {
        throw new ProviderError({
          provider: 'dns',
          retryable: true,
          code: 'forward_dns_pending',
          detail: `${server.hostname} ${type} does not resolve to ${ip.address} yet (got ${answer.status === 'ok' ? seen.join(', ') : answer.status})`,
        });
      }
    }
    for (const ip of ips) {
      if (ip.family === 'ipv4') await deps.compute.setIpv4Reverse(server.zone as Zone, ip.providerIpId, server.hostname);
      else await deps.compute.setIpv6Reverse(server.zone as Zone, ip.providerIpId, ip.address, server.hostname);
      log(`PTR ${ip.address} → ${server.hostname}`);
    }
    return { ptr: ips.map((ip) => ip.address) };
  },
};

function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  const norm = (s: string) => (s.includes(':') ? expand(s) : s);
  return norm(a) === norm(b);
}

function expand(v6: string): string {
  const [head = '', tail = ''] = v6.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = v6.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => g.padStart(4, '0').toLowerCase()).join(':');
}
