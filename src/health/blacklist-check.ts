/**
 * The blacklists health check reads the verdicts the blacklist monitor (src/ops/monitor.ts) and
 * the check_blacklists step already stored, instead of asking every zone again: at fleet scale a
 * second round of queries per health run would double the DNSBL traffic that the zones' free use
 * limits (Spamhaus: 300,000 queries a day, non-commercial). Only an address with no recent
 * verdict for some zone (the monitor has not reached it, or its zones changed) is asked now.
 */
import { and, desc, gt, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { blacklistChecks } from '../db/schema/index.ts';
import type { BlacklistChecker } from '../providers/lookup/interface.ts';
import { result, type CheckResult } from './check-types.ts';
import type { DnsFacts } from './dns-checks.ts';

interface Verdict {
  ip: string;
  zone: string;
  status: 'listed' | 'clean' | 'unknown';
  error?: string;
}

export interface BlacklistSources {
  db: Db;
  dnsbl: BlacklistChecker;
  now: Date;
  /** A stored verdict older than this is not used (twice the monitor's interval: one missed round is tolerated). */
  maxAgeMinutes: number;
}

async function storedVerdicts(src: BlacklistSources, addresses: string[]): Promise<Verdict[]> {
  const since = new Date(src.now.getTime() - src.maxAgeMinutes * 60_000);
  const rows = await src.db
    .selectDistinctOn([blacklistChecks.address, blacklistChecks.zone], {
      address: blacklistChecks.address,
      zone: blacklistChecks.zone,
      status: blacklistChecks.status,
      error: blacklistChecks.error,
    })
    .from(blacklistChecks)
    .where(and(inArray(blacklistChecks.address, addresses), inArray(blacklistChecks.zone, [...src.dnsbl.zones]), gt(blacklistChecks.checkedAt, since)))
    .orderBy(blacklistChecks.address, blacklistChecks.zone, desc(blacklistChecks.checkedAt));
  return rows.map((r) => ({ ip: r.address, zone: r.zone, status: r.status, ...(r.error ? { error: r.error } : {}) }));
}

/** The newest verdict per address and zone: stored when recent, asked now when not. */
export async function currentVerdicts(src: BlacklistSources, addresses: string[]): Promise<{ verdicts: Verdict[]; asked: string[] }> {
  if (addresses.length === 0 || src.dnsbl.zones.length === 0) return { verdicts: [], asked: [] };
  const stored = await storedVerdicts(src, addresses);
  const complete = (ip: string) => stored.filter((v) => v.ip === ip).length === src.dnsbl.zones.length;
  const asked = addresses.filter((ip) => !complete(ip));
  const fresh = (
    await Promise.all(
      asked.map(async (ip) =>
        (await src.dnsbl.check(ip)).map((v): Verdict => ({ ip, zone: v.zone, status: v.status, ...('error' in v ? { error: v.error } : {}) })),
      ),
    )
  ).flat();
  return { verdicts: [...stored.filter((v) => complete(v.ip)), ...fresh], asked };
}

export async function blacklistCheck(src: BlacklistSources, f: DnsFacts): Promise<CheckResult> {
  if (f.ips.length === 0) return result('blacklists', 'unknown', 'The server has no IP address yet.', 'Wait for provisioning to allocate addresses.');
  const { verdicts } = await currentVerdicts(
    src,
    f.ips.map((ip) => ip.address),
  );
  const listed = verdicts.filter((v) => v.status === 'listed');
  // A zone's own error codes (127.255.255.x), timeouts and refusals are "could not check", never "listed".
  const unknown = verdicts.filter((v) => v.status === 'unknown');
  const details = {
    listed: listed.map((v) => ({ ip: v.ip, zone: v.zone })),
    couldNotCheck: unknown.map((v) => ({ ip: v.ip, zone: v.zone, error: v.error ?? '' })),
  };
  if (listed.length > 0) {
    return result(
      'blacklists',
      'fail',
      `Listed: ${listed.map((v) => `${v.ip} on ${v.zone}`).join(', ')}.`,
      'Our operations team is alerted and will rotate the address; nothing to do on your side unless you sent bulk mail recently.',
      details,
    );
  }
  if (unknown.length > 0) {
    return result(
      'blacklists',
      'unknown',
      `Not listed anywhere we could ask; could not check ${[...new Set(unknown.map((v) => v.zone))].join(', ')}.`,
      'Nothing to do: those zones refused or failed to answer, and the next check asks again.',
      details,
    );
  }
  return result('blacklists', 'pass', `${f.ips.length} address${f.ips.length > 1 ? 'es' : ''} absent from all ${src.dnsbl.zones.length} zones.`, null, details);
}
