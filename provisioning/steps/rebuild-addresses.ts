/**
 * repoint_addresses (rebuild): the flexible IPs moved to the new instance; the IPv4
 * is the same address, and so is the IPv6, which mailplane fixes in the routed /64
 * (host-addresses.ts) instead of the SLAAC address a new NIC would change. So every
 * record is already right and this step publishes nothing; it checks that the AAAA
 * still resolves to the address and sets the IPv6 PTR again (idempotent). A server
 * provisioned before the address was fixed moves to it here, once: its AAAA, SPF
 * ip6: and PTR follow, the PTR once the forward record resolves.
 */
import { ProviderError } from '../../src/errors.ts';
import type { Zone } from '../../src/providers/compute/interface.ts';
import type { StepDefinition } from '../context.ts';
import { desiredRecords } from '../dns-records.ts';
import { currentIps } from '../ips.ts';
import { publishRecord, recordFacts } from '../records.ts';
import { ADDRESS_RECORDS, canonicalAddress } from './rotate-repoint.ts';

export const repointAddresses: StepDefinition = {
  name: 'repoint_addresses',
  maxAttempts: 20,
  async run({ deps, server, log }) {
    if (!server.dnsZoneId) throw new Error('the server has no DNS zone (publish_dns never ran)');
    const ips = await currentIps(deps, server.id);
    const actions: Record<string, string> = {};
    for (const record of desiredRecords(await recordFacts(deps, server, ips)).filter((r) => ADDRESS_RECORDS.has(r.purpose))) {
      actions[record.purpose] = await publishRecord(deps, server, server.dnsZoneId, record);
      log(`${record.type} ${record.name} → ${record.content}: ${actions[record.purpose]}`);
    }
    const v6 = ips.find((ip) => ip.family === 'ipv6');
    if (v6) {
      const answer = await deps.lookup.lookup(server.hostname, 'AAAA');
      const seen = answer.status === 'ok' ? answer.answers.map(canonicalAddress) : [];
      if (!seen.includes(canonicalAddress(v6.address))) {
        throw new ProviderError({
          provider: 'dns',
          retryable: true,
          code: 'forward_dns_pending',
          detail: `${server.hostname} AAAA does not resolve to ${v6.address} yet`,
        });
      }
      await deps.compute.setIpv6Reverse(server.zone as Zone, v6.providerIpId, v6.address, server.hostname);
      log(`PTR ${v6.address} → ${server.hostname}`);
    }
    return { records: actions };
  },
};
