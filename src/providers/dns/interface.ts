/**
 * Authoritative DNS (Cloudflare). Record content is in presentation format
 * without the provider's quirks: a TXT value is the logical string (the adapter
 * splits it into 255-byte character-strings), TLSA is "3 1 1 <hex>", CAA is
 * `0 issue "letsencrypt.org"`, SSHFP is "4 2 <hex>", SRV is "priority weight port
 * target" (target "." for a service not offered, RFC 2782), MX content is the
 * host with the preference in `priority`.
 */
export const DNS_RECORD_TYPES = ['A', 'AAAA', 'MX', 'TXT', 'CNAME', 'TLSA', 'CAA', 'SSHFP', 'SRV'] as const;
export type DnsRecordType = (typeof DNS_RECORD_TYPES)[number];

export interface DnsRecordInput {
  type: DnsRecordType;
  /** Fully qualified, no trailing dot. */
  name: string;
  content: string;
  priority?: number;
  /** Seconds; 1 means "automatic" at Cloudflare. */
  ttl?: number;
}

export interface DnsRecord extends DnsRecordInput {
  id: string;
}

export interface DnsZone {
  id: string;
  name: string;
  nameServers: string[];
  /** `pending` until the domain's nameservers point at the provider; only `active` zones are answered publicly. */
  status: string;
  /** When the zone was created (a Free-plan zone still pending 28 days later is deleted by Cloudflare). */
  createdAt: string | null;
}

export type DnssecState = 'active' | 'pending' | 'disabled' | 'pending-disabled' | 'error';

export interface DnssecStatus {
  state: DnssecState;
  /** The DS record the registrar needs, once Cloudflare has produced it. */
  ds: string | null;
  /** What some registries ask for instead of (or besides) the DS: the key's tag, algorithm, digest, public key and flags. */
  key: DnssecKey | null;
}

export interface DnssecKey {
  keyTag: number | null;
  algorithm: string | null;
  digest: string | null;
  digestType: string | null;
  publicKey: string | null;
  flags: number | null;
}

export type UpsertAction = 'created' | 'updated' | 'unchanged';

export interface DnsProvider {
  findZone(domain: string): Promise<DnsZone | null>;
  /**
   * Finds the zone or creates it; idempotent. When the account holds as many pending zones as the
   * provider allows, the refusal is a ProviderError with code `zone_pending_limit` (not retryable:
   * it lasts until other zones activate).
   */
  ensureZone(domain: string): Promise<DnsZone>;
  /**
   * Removes the zone and every record in it (workspace erasure); an absent zone succeeds. For a zone
   * deleted already, Cloudflare refuses a well-formed id (403 9109) instead of a 404: with `domain`,
   * the adapter confirms by name that no such zone is left and treats that as done.
   */
  deleteZone(zoneId: string, domain?: string): Promise<void>;
  /**
   * Asks the provider to look at the domain's delegation again (Cloudflare's activation check) and
   * returns the zone as it now stands; null when the zone no longer exists. As for deleteZone, a
   * deleted zone's id is refused rather than not found: with `domain`, the adapter confirms by name.
   */
  checkActivation(zoneId: string, domain?: string): Promise<DnsZone | null>;
  /** Every record of the zone (all pages), optionally filtered. */
  listRecords(zoneId: string, filter?: { type?: DnsRecordType; name?: string }): Promise<DnsRecord[]>;
  createRecord(zoneId: string, record: DnsRecordInput): Promise<DnsRecord>;
  updateRecord(zoneId: string, recordId: string, record: DnsRecordInput): Promise<DnsRecord>;
  /** Deleting a record that is already gone succeeds. */
  deleteRecord(zoneId: string, recordId: string): Promise<void>;
  /**
   * Ensures `record` exists exactly once. `sameSlot` says which existing record
   * it replaces (default: same type, name and content, so nothing is replaced).
   * The same call twice yields one record. `zoneRecords`, the zone's records as
   * just listed, spares a lookup per record when many are published at once.
   */
  upsertRecord(
    zoneId: string,
    record: DnsRecordInput,
    sameSlot?: (existing: DnsRecord) => boolean,
    zoneRecords?: DnsRecord[],
  ): Promise<{ record: DnsRecord; action: UpsertAction }>;
  /**
   * Asks the provider to scan the domain's current public DNS (Cloudflare's record scan, meant for a
   * zone whose nameservers have not moved yet) and returns what it found so far: records that are not
   * in the zone yet, each with the scan's temporary id. Records of types this interface does not know are left out.
   */
  scanExistingRecords(zoneId: string): Promise<DnsRecord[]>;
  /** Adds `accepts` (found by the scan) to the zone and drops the scanned records `rejectIds`; returns the records created. */
  reviewScannedRecords(zoneId: string, accepts: DnsRecordInput[], rejectIds: string[]): Promise<DnsRecord[]>;
  enableDnssec(zoneId: string): Promise<DnssecStatus>;
  getDnssec(zoneId: string): Promise<DnssecStatus>;
}
