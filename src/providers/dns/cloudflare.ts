/**
 * DnsProvider on the official Cloudflare SDK. The same code runs against
 * api.cloudflare.com and against the sandbox emulator (`apiUrl`).
 */
import Cloudflare from 'cloudflare';
import type { RecordCreateParams, RecordListParams, RecordScanReviewParams, RecordUpdateParams } from 'cloudflare/resources/dns/records';
import type { Zone } from 'cloudflare/resources/zones/zones';
import type { DNSSEC } from 'cloudflare/resources/dns/dnssec';
import { ProviderError } from '../../errors.ts';
import { CF_CODES, cloudflareCall, hasCloudflareCode, isNotFound } from './cloudflare-errors.ts';
import { fromCloudflare, isSameRecord, sameRecordData, toCloudflareBody } from './cloudflare-records.ts';
import type { DnsProvider, DnsRecord, DnsRecordInput, DnsRecordType, DnssecState, DnssecStatus, DnsZone } from './interface.ts';

export interface CloudflareDnsOptions {
  apiToken: string;
  accountId: string;
  /** API origin (e.g. the emulator's URL); `/client/v4` is appended unless already there. */
  apiUrl?: string;
  fetch?: typeof fetch;
  /**
   * Retries inside the SDK for one call. Kept low on purpose: the provisioning
   * runner already retries a failed step with backoff and honours
   * Retry-After from our ProviderError, so SDK retries would multiply attempts
   * (3 × runner attempts) and hold a worker asleep inside a 429 without the
   * runner knowing. One quick retry absorbs a dropped connection.
   */
  maxRetries?: number;
  /** Per-request timeout (SDK default is a minute). */
  timeoutMs?: number;
}

const DEFAULT_API_URL = 'https://api.cloudflare.com';
const PAGE_SIZE = 100;

function baseUrl(apiUrl: string | undefined): string {
  const url = (apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, '');
  return url.endsWith('/client/v4') ? url : `${url}/client/v4`;
}

function toZone(zone: Zone): DnsZone {
  return {
    id: zone.id,
    name: zone.name,
    nameServers: [...(zone.name_servers ?? [])],
    status: zone.status ?? 'pending',
    createdAt: zone.created_on ?? null,
  };
}

function toDnssec(raw: DNSSEC): DnssecStatus {
  const state: DnssecState = raw.status ?? 'disabled';
  const key =
    raw.key_tag || raw.public_key
      ? {
          keyTag: raw.key_tag ?? null,
          algorithm: raw.algorithm ?? null,
          digest: raw.digest ?? null,
          digestType: raw.digest_type ?? null,
          publicKey: raw.public_key ?? null,
          flags: raw.flags ?? null,
        }
      : null;
  return { state, ds: raw.ds ?? null, key };
}

/** Whether Cloudflare refused a new zone because the account holds too many pending ones. */
function isPendingZoneLimit(err: unknown): boolean {
  if (hasCloudflareCode(err, CF_CODES.pendingZoneLimit)) return true;
  // The code is not documented; the message is what people report, so it is matched too.
  return err instanceof ProviderError && /limit of pending zones/i.test(err.detail ?? '');
}

function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

export function createCloudflareDns(opts: CloudflareDnsOptions): DnsProvider {
  const client = new Cloudflare({
    apiToken: opts.apiToken,
    // Explicit nulls so stray CLOUDFLARE_API_KEY / CLOUDFLARE_EMAIL variables in
    // the environment never add a second set of credentials to our requests.
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    baseURL: baseUrl(opts.apiUrl),
    maxRetries: opts.maxRetries ?? 1,
    ...(opts.timeoutMs !== undefined ? { timeout: opts.timeoutMs } : {}),
    // Looked up per call so an interceptor installed after construction (msw in tests) is honoured.
    fetch: opts.fetch ?? ((input, init) => globalThis.fetch(input, init)),
  });

  async function findZone(domain: string): Promise<DnsZone | null> {
    const name = normalizeDomain(domain);
    return cloudflareCall(async () => {
      for await (const zone of client.zones.list({ name, account: { id: opts.accountId } })) {
        if (zone.name.toLowerCase() === name) return toZone(zone);
      }
      return null;
    });
  }

  async function ensureZone(domain: string): Promise<DnsZone> {
    const existing = await findZone(domain);
    if (existing) return existing;
    try {
      const created = await cloudflareCall(() => client.zones.create({ name: normalizeDomain(domain), account: { id: opts.accountId }, type: 'full' }));
      return toZone(created);
    } catch (err) {
      // Another worker created it between our lookup and our create.
      if (hasCloudflareCode(err, CF_CODES.zoneAlreadyExists)) {
        const raced = await findZone(domain);
        if (raced) return raced;
      }
      if (isPendingZoneLimit(err)) {
        throw new ProviderError({
          provider: 'cloudflare',
          code: 'zone_pending_limit',
          retryable: false,
          providerStatus: (err as ProviderError).providerStatus,
          cause: err,
          detail: `Cloudflare refuses new zones while the account holds its limit of pending zones (${(err as ProviderError).detail})`,
        });
      }
      throw err;
    }
  }

  async function listRecords(zoneId: string, filter: { type?: DnsRecordType; name?: string } = {}): Promise<DnsRecord[]> {
    const params: RecordListParams = { zone_id: zoneId, per_page: PAGE_SIZE };
    if (filter.type) params.type = filter.type;
    if (filter.name) params.name = { exact: normalizeDomain(filter.name) };
    return cloudflareCall(async () => {
      const records: DnsRecord[] = [];
      // The page object iterates every page (it stops at the first empty one).
      for await (const raw of client.dns.records.list(params)) {
        const record = fromCloudflare(raw);
        if (record) records.push(record);
      }
      return records;
    });
  }

  function parse(raw: Parameters<typeof fromCloudflare>[0]): DnsRecord {
    const record = fromCloudflare(raw);
    if (!record) throw new Error(`Cloudflare answered a ${raw.type} record where one of mailplane's types was expected`);
    return record;
  }

  async function createRecord(zoneId: string, record: DnsRecordInput): Promise<DnsRecord> {
    const body = { zone_id: zoneId, ...toCloudflareBody(record) } as RecordCreateParams;
    return parse(await cloudflareCall(() => client.dns.records.create(body)));
  }

  async function updateRecord(zoneId: string, recordId: string, record: DnsRecordInput): Promise<DnsRecord> {
    const body = { zone_id: zoneId, ...toCloudflareBody(record) } as RecordUpdateParams;
    return parse(await cloudflareCall(() => client.dns.records.update(recordId, body)));
  }

  async function deleteRecord(zoneId: string, recordId: string): Promise<void> {
    try {
      await cloudflareCall(() => client.dns.records.delete(recordId, { zone_id: zoneId }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  /**
   * Whether a refusal of a zone-scoped call means the zone is gone. What Cloudflare answers for a zone id
   * it no longer holds is undocumented, and no report shows a 404 (400 1001, 7003 + 7000 and 403 are
   * reported; the sandbox says 403 9109), so no code is trusted: a 4xx other than 429 counts as "gone"
   * only once the account holds no zone of that name with that id.
   */
  async function zoneGone(err: unknown, zoneId: string, domain: string | undefined): Promise<boolean> {
    if (isNotFound(err)) return true;
    const status = err instanceof ProviderError ? err.providerStatus : undefined;
    if (!domain || status === undefined || status < 400 || status >= 500 || status === 429) return false;
    const zone = await findZone(domain);
    return !zone || zone.id !== zoneId;
  }

  async function deleteZone(zoneId: string, domain?: string): Promise<void> {
    try {
      await cloudflareCall(() => client.zones.delete({ zone_id: zoneId }));
    } catch (err) {
      if (await zoneGone(err, zoneId, domain)) return;
      throw err;
    }
  }

  async function checkActivation(zoneId: string, domain?: string): Promise<DnsZone | null> {
    try {
      await cloudflareCall(() => client.zones.activationCheck.trigger({ zone_id: zoneId }));
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      if (await zoneGone(err, zoneId, domain)) return null;
      // The check is only a nudge (Cloudflare also checks by itself): it is allowed for a pending zone,
      // once an hour on a Free plan, and what a refusal answers is not documented. The zone decides.
    }
    try {
      return toZone(await cloudflareCall(() => client.zones.get({ zone_id: zoneId })));
    } catch (err) {
      if (await zoneGone(err, zoneId, domain)) return null;
      throw err;
    }
  }

  async function upsertRecord(
    zoneId: string,
    record: DnsRecordInput,
    sameSlot: (existing: DnsRecord) => boolean = (existing) => sameRecordData(existing, record),
    zoneRecords?: DnsRecord[],
  ) {
    const name = normalizeDomain(record.name);
    const existing = zoneRecords
      ? zoneRecords.filter((r) => r.type === record.type && normalizeDomain(r.name) === name)
      : await listRecords(zoneId, { type: record.type, name: record.name });
    const slot = existing.filter((r) => isSameRecord(r, record) || sameSlot(r));
    const keep = slot.find((r) => isSameRecord(r, record)) ?? slot[0];
    // Extra records in the slot (e.g. a second SPF TXT) would make the answer ambiguous.
    for (const extra of slot) if (extra !== keep) await deleteRecord(zoneId, extra.id);
    if (keep && isSameRecord(keep, record)) {
      return { record: keep, action: slot.length > 1 ? ('updated' as const) : ('unchanged' as const) };
    }
    if (keep) return { record: await updateRecord(zoneId, keep.id, record), action: 'updated' as const };
    try {
      return { record: await createRecord(zoneId, record), action: 'created' as const };
    } catch (err) {
      // A concurrent upsert of the same record won the race.
      if (!hasCloudflareCode(err, CF_CODES.identicalRecordExists) && !hasCloudflareCode(err, CF_CODES.recordAlreadyExists)) throw err;
      const now = await listRecords(zoneId, { type: record.type, name: record.name });
      const same = now.find((r) => isSameRecord(r, record));
      if (!same) throw err;
      return { record: same, action: 'unchanged' as const };
    }
  }

  async function scanExistingRecords(zoneId: string): Promise<DnsRecord[]> {
    await cloudflareCall(() => client.dns.records.scanTrigger({ zone_id: zoneId }));
    return cloudflareCall(async () => {
      const found: DnsRecord[] = [];
      for await (const raw of client.dns.records.scanList({ zone_id: zoneId })) {
        const record = fromCloudflare(raw);
        if (record) found.push(record);
      }
      return found;
    });
  }

  async function reviewScannedRecords(zoneId: string, accepts: DnsRecordInput[], rejectIds: string[]): Promise<DnsRecord[]> {
    if (accepts.length === 0 && rejectIds.length === 0) return [];
    const body = {
      zone_id: zoneId,
      accepts: accepts.map((r) => toCloudflareBody(r)),
      rejects: rejectIds.map((id) => ({ id })),
    } as RecordScanReviewParams;
    const result = await cloudflareCall(() => client.dns.records.scanReview(body));
    return (result.accepts ?? []).map((raw) => fromCloudflare(raw)).filter((r): r is DnsRecord => r !== null);
  }

  async function getDnssec(zoneId: string): Promise<DnssecStatus> {
    return toDnssec(await cloudflareCall(() => client.dns.dnssec.get({ zone_id: zoneId })));
  }

  async function enableDnssec(zoneId: string): Promise<DnssecStatus> {
    const current = await getDnssec(zoneId);
    // Already signing (or waiting for the DS at the registrar): editing again would only bump modified_on.
    if (current.state === 'active' || current.state === 'pending') return current;
    return toDnssec(await cloudflareCall(() => client.dns.dnssec.edit({ zone_id: zoneId, status: 'active' })));
  }

  return {
    findZone,
    ensureZone,
    deleteZone,
    checkActivation,
    listRecords,
    createRecord,
    updateRecord,
    deleteRecord,
    upsertRecord,
    scanExistingRecords,
    reviewScannedRecords,
    enableDnssec,
    getDnssec,
  };
}
