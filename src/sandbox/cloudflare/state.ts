/**
 * The emulator's in-memory account: zones, their DNS records and DNSSEC.
 * Conflict rules follow Cloudflare: a zone name exists once per account
 * (1061), an identical record is refused (81058), and a CNAME cannot share its
 * name with any other record (81053).
 */
import { createHash, randomBytes } from 'node:crypto';
import { recordFields } from './record-rules.ts';
import { CfApiError, type CfDnssec, type CfDnssecStatus, type CfRecord, type CfZone } from './wire.ts';

const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/;
const NS_NAMES = ['ada', 'bob', 'cruz', 'dina', 'elle', 'fred', 'gina', 'hank', 'ines', 'jack', 'kate', 'liam'];
export const SANDBOX_NS_SUFFIX = 'ns.cloudflare-sandbox.test';

function newId(): string {
  return randomBytes(16).toString('hex');
}

function now(): string {
  return new Date().toISOString();
}

function disabledDnssec(): CfDnssec {
  return {
    status: 'disabled',
    algorithm: null,
    digest: null,
    digest_algorithm: null,
    digest_type: null,
    ds: null,
    flags: null,
    key_tag: null,
    key_type: null,
    public_key: null,
    modified_on: null,
    dnssec_multi_signer: false,
    dnssec_presigned: false,
    dnssec_use_nsec3: false,
  };
}

/**
 * Two distinct nameservers, drawn afresh for every zone created: a domain added
 * again after its deletion gets a new pair at Cloudflare, so the customer must
 * move their nameservers again.
 */
function newNameServers(): string[] {
  const h = randomBytes(2);
  const first = h[0]! % NS_NAMES.length;
  const second = (first + 1 + (h[1]! % (NS_NAMES.length - 1))) % NS_NAMES.length;
  return [`${NS_NAMES[first]}.${SANDBOX_NS_SUFFIX}`, `${NS_NAMES[second]}.${SANDBOX_NS_SUFFIX}`];
}

export interface CloudflareSnapshot {
  zones: CfZone[];
  records: CfRecord[];
  dnssec: [string, CfDnssec][];
  previousNameServers: [string, string][];
  /** The domains' DNS before they moved to Cloudflare (what the scan finds); absent in older snapshots. */
  publicDns?: [string, PublicRecord[]][];
  /** When "the registrar" got each zone's DS (zone id → ISO time). */
  dsAddedAt?: [string, string][];
}

/** A record the domain's previous DNS host serves, in presentation form (TXT as the logical string). */
export interface PublicRecord {
  type: string;
  /** Fully qualified, lower case, no trailing dot. */
  name: string;
  content: string;
  priority?: number;
  ttl?: number;
}

/** Cloudflare's default cap on zones still waiting for their nameservers (lower for some accounts). */
export const DEFAULT_PENDING_ZONE_LIMIT = 50;

/** Cloudflare deletes a Free-plan zone still pending this long after creation. */
export const PENDING_ZONE_LIFETIME_DAYS = 28;

export class CloudflareState {
  /**
   * `immediate`: a new zone is active at once (as if its nameservers already pointed at us).
   * `manual`: it stays `pending` until activateZone (the customer moved the nameservers).
   */
  zoneActivation: 'immediate' | 'manual' = 'immediate';
  /** New zones are refused while this many zones of the account are pending (code 1118). */
  pendingZoneLimit = DEFAULT_PENDING_ZONE_LIMIT;
  /**
   * `immediate`: enabling DNSSEC signs at once. `registrar`: it stays `pending` until the DS is at
   * the registrar (addDs) and Cloudflare has seen it there, `dnssecDelayMs` later.
   */
  dnssecActivation: 'immediate' | 'registrar' = 'registrar';
  dnssecDelayMs = 0;
  readonly dsAddedAt = new Map<string, string>();
  /** Domain → its records at the DNS host it had before Cloudflare (answered publicly until the move). */
  readonly publicDns = new Map<string, PublicRecord[]>();
  /** Zone id → when its last activation check was accepted (ms; not persisted: a restart forgets the limit). */
  readonly activationChecks = new Map<string, number>();
  /** Zone id → records found by the scan, awaiting review (accept / reject). */
  readonly scanned = new Map<string, CfRecord[]>();
  /** Previous pair of each deleted zone name (so a re-added zone never gets the same one). */
  private readonly previousNameServers = new Map<string, string>();
  readonly zones = new Map<string, CfZone>();
  readonly records = new Map<string, CfRecord>();
  readonly dnssec = new Map<string, CfDnssec>();

  /** The account as JSON (the sandbox persists it across restarts). */
  snapshot(): CloudflareSnapshot {
    return {
      zones: [...this.zones.values()],
      records: [...this.records.values()],
      dnssec: [...this.dnssec],
      previousNameServers: [...this.previousNameServers],
      publicDns: [...this.publicDns],
      dsAddedAt: [...this.dsAddedAt],
    };
  }

  restore(snap: CloudflareSnapshot): void {
    for (const z of snap.zones) this.zones.set(z.id, z);
    for (const r of snap.records) this.records.set(r.id, r);
    for (const [id, d] of snap.dnssec) this.dnssec.set(id, d);
    for (const [name, ns] of snap.previousNameServers) this.previousNameServers.set(name, ns);
    for (const [name, records] of snap.publicDns ?? []) this.publicDns.set(name, records);
    for (const [id, at] of snap.dsAddedAt ?? []) this.dsAddedAt.set(id, at);
  }

  /**
   * A zone the account holds. What Cloudflare answers for a zone id it no longer holds is undocumented and
   * no report shows a 404 (400 1001, 7003 + 7000, 403 10000 are reported): a well-formed id the account
   * does not hold (a zone deleted already, or Cloudflare's own deletion of a zone left pending 28 days)
   * is refused like one the token may not see, 403 9109, on every zone route alike; anything else is not a route.
   */
  zone(zoneId: string): CfZone {
    const zone = this.zones.get(zoneId);
    if (zone) return zone;
    if (/^[0-9a-f]{32}$/.test(zoneId)) throw new CfApiError(403, 9109, 'Unauthorized to access requested resource');
    throw CfApiError.zoneNotFound(zoneId);
  }

  createZone(body: unknown): CfZone {
    const b = (body ?? {}) as { name?: unknown; account?: { id?: unknown }; type?: unknown };
    const accountId = b.account?.id;
    if (typeof accountId !== 'string' || accountId === '') throw CfApiError.invalid(1001, 'account.id is required');
    const name = typeof b.name === 'string' ? b.name.trim().toLowerCase().replace(/\.$/, '') : '';
    if (!DOMAIN.test(name)) throw CfApiError.invalid(1097, 'Invalid or missing zone name.');
    if (b.type !== undefined && b.type !== 'full') throw CfApiError.invalid(1001, 'Only full zones are supported by the sandbox.');
    if ([...this.zones.values()].some((z) => z.name === name)) throw CfApiError.invalid(1061, `${name} already exists`);
    const pending = [...this.zones.values()].filter((z) => z.status === 'pending').length;
    if (pending >= this.pendingZoneLimit) {
      // The account holds too many zones whose nameservers were never moved; more are refused until some activate.
      throw CfApiError.invalid(1118, 'You have exceeded the limit of pending zones. Please activate some of your pending zones before adding more.');
    }
    const at = now();
    let nameServers = newNameServers();
    while (nameServers.join(',') === this.previousNameServers.get(name)) nameServers = newNameServers();
    const active = this.zoneActivation === 'immediate';
    const zone: CfZone = {
      id: newId(),
      name,
      status: active ? 'active' : 'pending',
      type: 'full',
      paused: false,
      development_mode: 0,
      name_servers: nameServers,
      original_name_servers: null,
      original_registrar: null,
      original_dnshost: null,
      account: { id: accountId, name: 'Sandbox account' },
      owner: { id: null, type: 'user', email: null },
      plan: { id: '0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee', name: 'Free Website' },
      meta: { step: 2, phishing_detected: false },
      permissions: ['#dns_records:edit', '#dns_records:read', '#zone:read'],
      created_on: at,
      modified_on: at,
      activated_on: active ? at : null,
    };
    this.zones.set(zone.id, zone);
    this.dnssec.set(zone.id, disabledDnssec());
    return zone;
  }

  deleteZone(zoneId: string): void {
    const zone = this.zone(zoneId);
    this.previousNameServers.set(zone.name, zone.name_servers.join(','));
    this.zones.delete(zoneId);
    this.dnssec.delete(zoneId);
    this.dsAddedAt.delete(zoneId);
    this.activationChecks.delete(zoneId);
    this.scanned.delete(zoneId);
    for (const [id, r] of this.records) if (r.zone_id === zoneId) this.records.delete(id);
  }

  zoneRecords(zoneId: string): CfRecord[] {
    return [...this.records.values()].filter((r) => r.zone_id === zoneId);
  }

  record(zoneId: string, recordId: string): CfRecord {
    this.zone(zoneId);
    const record = this.records.get(recordId);
    if (!record || record.zone_id !== zoneId) throw new CfApiError(404, 81044, 'Record does not exist.');
    return record;
  }

  private checkConflicts(zoneId: string, candidate: Pick<CfRecord, 'name' | 'type' | 'content'>, selfId?: string): void {
    const others = this.zoneRecords(zoneId).filter((r) => r.id !== selfId && r.name === candidate.name);
    if (others.some((r) => r.type === candidate.type && r.content === candidate.content)) {
      throw CfApiError.invalid(81058, 'An identical record already exists.');
    }
    if (others.length > 0 && (candidate.type === 'CNAME' || others.some((r) => r.type === 'CNAME'))) {
      throw CfApiError.invalid(81053, 'An A, AAAA, or CNAME record with that host already exists.');
    }
  }

  createRecord(zoneId: string, body: unknown): CfRecord {
    const zone = this.zone(zoneId);
    const fields = recordFields(body, zone.name);
    this.checkConflicts(zoneId, fields);
    const at = now();
    const record: CfRecord = { id: newId(), zone_id: zone.id, zone_name: zone.name, ...fields, settings: {}, meta: {}, created_on: at, modified_on: at };
    this.records.set(record.id, record);
    return record;
  }

  /** PUT replaces every field; PATCH (`merge`) keeps what the body leaves out. */
  updateRecord(zoneId: string, recordId: string, body: unknown, merge = false): CfRecord {
    const existing = this.record(zoneId, recordId);
    const zone = this.zone(zoneId);
    const input = merge ? { ...existing, ...(body as object) } : body;
    const fields = recordFields(input, zone.name);
    this.checkConflicts(zoneId, fields, recordId);
    const { data: _d, priority: _p, ...rest } = existing;
    const updated: CfRecord = { ...rest, ...fields, modified_on: now() };
    this.records.set(recordId, updated);
    return updated;
  }

  deleteRecord(zoneId: string, recordId: string): void {
    this.record(zoneId, recordId);
    this.records.delete(recordId);
  }

  getDnssec(zoneId: string): CfDnssec {
    this.zone(zoneId);
    const current = this.dnssec.get(zoneId) ?? disabledDnssec();
    // Cloudflare notices the DS at the parent on its own schedule, some time after the registrar published it.
    const added = this.dsAddedAt.get(zoneId);
    if (current.status === 'pending' && added && Date.now() >= Date.parse(added) + this.dnssecDelayMs) return this.setDnssec(zoneId, 'active');
    return current;
  }

  /** The customer added the zone's DS at their registrar. */
  addDs(zoneId: string): CfDnssec {
    this.zone(zoneId);
    if (!this.dsAddedAt.has(zoneId)) this.dsAddedAt.set(zoneId, now());
    return this.getDnssec(zoneId);
  }

  /** Sets the DNSSEC state; a signing state gets a key (and its DS) the first time. */
  setDnssec(zoneId: string, status: CfDnssecStatus): CfDnssec {
    const zone = this.zone(zoneId);
    const current = this.dnssec.get(zoneId) ?? disabledDnssec();
    let next: CfDnssec;
    if (status === 'disabled') next = disabledDnssec();
    else if (current.ds) next = { ...current, status };
    else next = { ...current, ...newSigningKey(zone.name), status };
    next.modified_on = now();
    this.dnssec.set(zoneId, next);
    return next;
  }

  /** Longest-suffix match: the zone that is authoritative for `name`. */
  findZoneFor(name: string): CfZone | null {
    const n = name.toLowerCase().replace(/\.$/, '');
    let best: CfZone | null = null;
    for (const zone of this.zones.values()) {
      if ((n === zone.name || n.endsWith(`.${zone.name}`)) && (!best || zone.name.length > best.name.length)) best = zone;
    }
    return best;
  }
}

/** An ECDSA P-256 (algorithm 13) KSK stand-in and its SHA-256 DS, in Cloudflare's field set. */
function newSigningKey(zoneName: string): Partial<CfDnssec> {
  const publicKey = randomBytes(64).toString('base64');
  const keyTag = 1 + (randomBytes(2).readUInt16BE(0) % 65534);
  const digest = createHash('sha256').update(zoneName).update(publicKey).digest('hex').toUpperCase();
  return {
    algorithm: '13',
    digest_algorithm: 'SHA256',
    digest_type: '2',
    digest,
    flags: 257,
    key_tag: keyTag,
    key_type: 'ECDSAP256SHA256',
    public_key: publicKey,
    ds: `${zoneName}. 3600 IN DS ${keyTag} 13 2 ${digest}`,
  };
}
