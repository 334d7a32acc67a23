/**
 * repoint_addresses (rebuild): the flexible IPs moved to the new instance, and
 * the IPv4 is the same address; but a routed IPv6 is a /64 in which the host
 * holds its SLAAC address, derived from its NIC's MAC, which a new instance
 * does not share. So the AAAA record, SPF's ip6: and the IPv6 PTR follow the
 * address the new host holds (unchanged records are left alone), the PTR once
 * the forward record resolves, as in an IP rotation.
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
        throw new ProviderError({ provider: 'dns', retryable: true, code: 'forward_dns_pending', detail: `${server.hostname} AAAA does not resolve to ${v6.address} yet` });
      }
      await deps.compute.setIpv6Reverse(server.zone as Zone, v6.providerIpId, v6.address, server.hostname);
      log(`PTR ${v6.address} → ${server.hostname}`);
    }
    return { records: actions };
  },
};
