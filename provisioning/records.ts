/** Publishing one desired record and remembering it (by purpose) for verify and deprovisioning. */
import { createHash } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { dkimKeys, dnsRecords } from '../src/db/schema/index.ts';
import type { DnsRecord } from '../src/providers/dns/interface.ts';
import type { ProvisioningDeps, ServerRow } from './context.ts';
import type { DesiredRecord, RecordFacts } from './dns-records.ts';
import type { IpRow } from './ips.ts';

/** `zoneRecords`: the zone as listed once before publishing several records (one lookup instead of one per record). */
export async function publishRecord(
  deps: ProvisioningDeps,
  server: ServerRow,
  zoneId: string,
  desired: DesiredRecord,
  zoneRecords?: DnsRecord[],
): Promise<string> {
  const { purpose, sameSlot, ...record } = desired;
  const [before] = await deps.database.db
    .select()
    .from(dnsRecords)
    .where(and(eq(dnsRecords.serverId, server.id), eq(dnsRecords.purpose, purpose)));
  const { record: published, action } = await deps.dns.upsertRecord(zoneId, record, sameSlot, zoneRecords);
  // The purpose moved to another name or type (the CAA left the apex for the mail host): its old record is mailplane's to remove.
  if (
    before?.providerRecordId &&
    before.state === 'published' &&
    before.providerRecordId !== published.id &&
    (before.name !== record.name || before.type !== record.type)
  ) {
    await deps.dns.deleteRecord(zoneId, before.providerRecordId);
  }
  const values = {
    serverId: server.id,
    purpose,
    type: record.type,
    name: record.name,
    content: record.content,
    priority: record.priority ?? null,
    providerRecordId: published.id,
    state: 'published' as const,
    updatedAt: new Date(),
  };
  await deps.database.db
    .insert(dnsRecords)
    .values(values)
    .onConflictDoUpdate({ target: [dnsRecords.serverId, dnsRecords.purpose], set: values });
  return action;
}

export function sshfpFromPublicKey(openSshPublicKey: string): string {
  const blob = openSshPublicKey.trim().split(/\s+/)[1];
  if (!blob) throw new Error('malformed SSH public key');
  return createHash('sha256').update(Buffer.from(blob, 'base64')).digest('hex');
}

export async function recordFacts(deps: ProvisioningDeps, server: ServerRow, ips: IpRow[]): Promise<RecordFacts> {
  const [dkim] = await deps.database.db
    .select()
    .from(dkimKeys)
    .where(and(eq(dkimKeys.serverId, server.id), eq(dkimKeys.domain, server.domain), eq(dkimKeys.state, 'active')));
  return {
    domain: server.domain,
    hostname: server.hostname,
    ipv4: ips.find((i) => i.family === 'ipv4')?.address ?? null,
    ipv6: ips.find((i) => i.family === 'ipv6')?.address ?? null,
    dkim: dkim ? { selector: dkim.selector, publicKeyBase64: dkim.publicKey } : null,
    dkimEd25519: dkim?.ed25519Selector && dkim.ed25519PublicKey ? { selector: dkim.ed25519Selector, publicKeyBase64: dkim.ed25519PublicKey } : null,
    sshfpSha256Hex: server.sshHostPublicKey ? sshfpFromPublicKey(server.sshHostPublicKey) : null,
    dmarcRua: deps.settings.dmarcRua,
    tlsRptRua: deps.settings.dmarcRua,
    spfTerms: server.spfTerms,
  };
}
