/**
 * publish_tlsa: `_25._tcp.<mailhost>` TLSA 3 1 1. A TLSA record means
 * something only in a signed zone (RFC 7672), so without active DNSSEC it is
 * not published and the server carries a warning instead; the DNSSEC watch
 * (dnssec-watch.ts) publishes it once the customer's DS makes DNSSEC active.
 */
import type { StepDefinition } from '../context.ts';
import { tlsaRecord } from '../dns-records.ts';
import { dnssecPendingMessage, storeDnssec, TLSA_WARNING } from '../dnssec-watch.ts';
import { publishRecord } from '../records.ts';
import { setWarning } from '../warnings.ts';

export const publishTlsa: StepDefinition = {
  name: 'publish_tlsa',
  async run({ deps, server, log }) {
    if (!server.dnsZoneId || !server.tlsSpkiSha256) throw new Error('publish_tlsa needs the zone (publish_dns) and the TLS key (issue_tls)');
    const dnssec = await deps.dns.getDnssec(server.dnsZoneId);
    await storeDnssec(deps, server.id, dnssec);
    if (dnssec.state !== 'active') {
      const message = dnssecPendingMessage({ domain: server.domain, dnssecStatus: dnssec.state });
      await setWarning(deps, server.id, TLSA_WARNING, message);
      log(message);
      return { published: false, dnssec: dnssec.state };
    }
    const action = await publishRecord(deps, server, server.dnsZoneId, tlsaRecord(server.hostname, server.tlsSpkiSha256));
    await setWarning(deps, server.id, TLSA_WARNING, null);
    log(`TLSA _25._tcp.${server.hostname} 3 1 1 ${server.tlsSpkiSha256}: ${action}`);
    return { published: true };
  },
};
