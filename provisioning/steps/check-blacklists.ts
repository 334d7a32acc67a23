/**
 * check_blacklists: every reserved IP against the DNSBL zones before it is used
 * anywhere. Listed → released and replaced, at most `maxRotations` times per
 * family; then ops get an alert and the step fails with the listings. An
 * "unknown" answer (timeout, refused resolver) is never clean: the step retries.
 */
import { eq } from 'drizzle-orm';
import { blacklistChecks, serverIps } from '../../src/db/schema/index.ts';
import { AppError, ProviderError } from '../../src/errors.ts';
import type { DnsblVerdict } from '../../src/providers/lookup/interface.ts';
import type { StepContext, StepDefinition } from '../context.ts';
import { currentIps, ipHistory, releaseIp, reserveIp, type IpRow } from '../ips.ts';

export class RotationsExhaustedError extends AppError {
  constructor(detail: string, listings: unknown) {
    super({ code: 'ip_rotations_exhausted', status: 409, title: 'Every IP tried is blacklisted', detail, retryable: false, extensions: { listings } });
  }
}

export async function recordVerdicts(ctx: Pick<StepContext, 'deps'>, serverId: string, address: string, verdicts: DnsblVerdict[]): Promise<void> {
  if (verdicts.length === 0) return;
  await ctx.deps.database.db.insert(blacklistChecks).values(
    verdicts.map((v) => ({
      serverId,
      address,
      zone: v.zone,
      status: v.status,
      codes: v.status === 'listed' ? v.codes : [],
      error: v.status === 'unknown' ? v.error : null,
    })),
  );
}

export const listingsOf = (verdicts: DnsblVerdict[]) =>
  verdicts.flatMap((v) => (v.status === 'listed' ? [{ zone: v.zone, codes: v.codes, meaning: v.meaning }] : []));

async function checkFamily(ctx: StepContext, family: 'ipv4' | 'ipv6'): Promise<IpRow> {
  const { deps } = ctx;
  for (;;) {
    const ip = (await currentIps(deps, ctx.server.id)).find((r) => r.family === family) ?? (await reserveIp(deps, ctx.server, family, ctx.log));
    const verdicts = await deps.dnsbl.check(ip.address);
    await recordVerdicts(ctx, ctx.server.id, ip.address, verdicts);
    const listings = listingsOf(verdicts);
    const unknown = verdicts.filter((v) => v.status === 'unknown');
    const now = new Date(deps.clock.now());
    if (listings.length > 0) {
      await deps.database.db.update(serverIps).set({ state: 'listed', listings, checkedAt: now }).where(eq(serverIps.id, ip.id));
      ctx.log(`${ip.address} is listed on ${listings.map((l) => `${l.zone} (${l.codes.join(',')})`).join(', ')}`);
      const history = await ipHistory(deps, ctx.server.id, family);
      const rotations = history.length - 1;
      if (rotations >= deps.settings.maxRotations) {
        const all = history.map((h) => ({ address: h.address, listings: h.id === ip.id ? listings : h.listings }));
        await deps.alerts.open(deps.database.db, {
          kind: 'ip_rotation_exhausted',
          severity: 'critical',
          serverId: ctx.server.id,
          dedupeKey: `ip_rotation_exhausted:${ctx.server.id}:${family}`,
          message: `${ctx.server.hostname}: ${history.length} ${family} addresses tried, all blacklisted`,
          details: { family, addresses: all },
        });
        throw new RotationsExhaustedError(
          `${family}: gave up after ${rotations} rotations; every address was listed: ${all.map((a) => a.address).join(', ')}`,
          all,
        );
      }
      await releaseIp(deps, ctx.server, ip, ctx.log);
      await reserveIp(deps, ctx.server, family, ctx.log);
      continue;
    }
    if (unknown.length > 0) {
      await deps.database.db.update(serverIps).set({ state: 'unknown', checkedAt: now }).where(eq(serverIps.id, ip.id));
      throw new ProviderError({
        provider: 'dnsbl',
        retryable: true,
        code: 'dnsbl_inconclusive',
        detail: `${ip.address}: no conclusive answer from ${unknown.map((u) => `${u.zone} (${u.status === 'unknown' ? u.error : ''})`).join(', ')}`,
      });
    }
    await deps.database.db.update(serverIps).set({ state: 'clean', listings: [], checkedAt: now }).where(eq(serverIps.id, ip.id));
    ctx.log(`${ip.address} is clean on ${verdicts.length} zones`);
    return ip;
  }
}

export const checkBlacklists: StepDefinition = {
  name: 'check_blacklists',
  async run(ctx) {
    const [v4, v6] = await Promise.all([checkFamily(ctx, 'ipv4'), checkFamily(ctx, 'ipv6')]);
    return { ipv4: v4.address, ipv6: v6.address };
  },
};
