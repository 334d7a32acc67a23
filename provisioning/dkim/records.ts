/**
 * A DKIM generation's TXT records at Cloudflare: published with the key, revoked (the same name
 * answering `p=` empty, RFC 6376 §3.6.1), then deleted. Each call converges by name, so running
 * it twice (a retried step or job) changes nothing more.
 */
import type { DnsProvider, DnsRecord } from '../../src/providers/dns/interface.ts';
import { dkimRecordContent, generationRecords, type DkimKeyRow } from './keys.ts';

const isDkim = (name: string) => (r: DnsRecord) => r.type === 'TXT' && r.name === name && r.content.replace(/^"/, '').toLowerCase().startsWith('v=dkim1');

/** Publishes (or, `revoked`, empties) every record of the generation; returns the provider's record ids. */
export async function writeGenerationRecords(dns: DnsProvider, zoneId: string, key: DkimKeyRow, revoked: boolean): Promise<{ rsa?: string; ed25519?: string }> {
  const ids: { rsa?: string; ed25519?: string } = {};
  for (const spec of generationRecords(key)) {
    const content = dkimRecordContent(spec.algorithm, revoked ? null : spec.publicKey);
    const { record } = await dns.upsertRecord(zoneId, { type: 'TXT', name: spec.name, content }, isDkim(spec.name));
    ids[spec.algorithm] = record.id;
  }
  return ids;
}

export async function deleteGenerationRecords(dns: DnsProvider, zoneId: string, key: DkimKeyRow): Promise<number> {
  let deleted = 0;
  for (const spec of generationRecords(key)) {
    for (const record of (await dns.listRecords(zoneId, { type: 'TXT', name: spec.name })).filter(isDkim(spec.name))) {
      await dns.deleteRecord(zoneId, record.id);
      deleted++;
    }
  }
  return deleted;
}
