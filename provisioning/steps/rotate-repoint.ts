/**
 * repoint_dns and repoint_ptr: the address records and SPF follow the new IP
 * (the same desired records as publish_dns, limited to the ones that carry an
 * address), then the PTR is set once the forward record resolves to the new
 * address, so the reverse is forward-confirmed the moment it exists.
 */
import { ProviderError } from '../../src/errors.ts';
import type { Zone } from '../../src/providers/compute/interface.ts';
import type { StepDefinition } from '../context.ts';
import { desiredRecords } from '../dns-records.ts';
import { publishRecord, recordFacts } from '../records.ts';
import { ipsAfterRotation, oldIpOf, replacementOf } from './rotate-common.ts';

// Every record that names the server's addresses (both SPF records, the domain's and the hostname's, list them):
// what follows a server to a new address.
export const ADDRESS_RECORDS = new Set(['a_mail', 'aaaa_mail', 'spf', 'spf_mail']);

export const repointDns: StepDefinition = {
  name: 'repoint_dns',
  async run(ctx) {
    const { deps, server, log } = ctx;
    if (!server.dnsZoneId) throw new Error('the server has no DNS zone (publish_dns never ran)');
    const { old } = await oldIpOf(ctx);
    const facts = await recordFacts(deps, server, await ipsAfterRotation(ctx, old));
    const actions: Record<string, string> = {};
    for (const record of desiredRecords(facts).filter((r) => ADDRESS_RECORDS.has(r.purpose))) {
      actions[record.purpose] = await publishRecord(deps, server, server.dnsZoneId, record);
      log(`${record.type} ${record.name} → ${record.content}: ${actions[record.purpose]}`);
    }
    return { records: actions };
  },
};

/** Canonical text of an address, so "2001:db8::1" and "2001:0db8:0:0::1" compare equal. */
export function canonicalAddress(address: string): string {
  return address.includes(':') ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

export const repointPtr: StepDefinition = {
  name: 'repoint_ptr',
  // Forward records can take a while to be visible; keep trying well past the default.
  maxAttempts: 20,
  async run(ctx) {
    const { deps, server, log } = ctx;
    const { old } = await oldIpOf(ctx);
    const ip = await replacementOf(ctx, old);
    if (!ip) throw new Error('no replacement IP (attach_replacement_ip)');
    const type = ip.family === 'ipv4' ? 'A' : 'AAAA';
    const answer = await deps.lookup.lookup(server.hostname, type);
    const seen = answer.status === 'ok' ? answer.answers.map(canonicalAddress) : [];
    if (!seen.includes(canonicalAddress(ip.address))) {
      throw new ProviderError({
        provider: 'dns',
        retryable: true,
        code: 'forward_dns_pending',
        detail: `${server.hostname} ${type} does not resolve to ${ip.address} yet (got ${answer.status === 'ok' ? seen.join(', ') : answer.status})`,
      });
    }
    if (ip.family === 'ipv4') await deps.compute.setIpv4Reverse(server.zone as Zone, ip.providerIpId, server.hostname);
    else await deps.compute.setIpv6Reverse(server.zone as Zone, ip.providerIpId, ip.address, server.hostname);
    log(`PTR ${ip.address} → ${server.hostname}`);
    return { ptr: ip.address };
  },
};
