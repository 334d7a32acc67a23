/**
 * reserve_replacement_ip and check_replacement_ip: a new flexible IP of the
 * same family, reserved with the server's tags, then checked against every
 * DNSBL zone before it is used anywhere — the provisioning check's rules:
 * listed → released and replaced (at most `maxRotations` times in this run,
 * then an ops alert and a failed step), unknown → retried, never clean.
 */
import { and, eq, gte } from 'drizzle-orm';
import { serverIps } from '../../src/db/schema/index.ts';
import { ProviderError } from '../../src/errors.ts';
import type { StepDefinition } from '../context.ts';
import { releaseIp, reserveIp } from '../ips.ts';
import { listingsOf, recordVerdicts, RotationsExhaustedError } from './check-blacklists.ts';
import { oldIpOf, replacementOf } from './rotate-common.ts';

export const reserveReplacementIp: StepDefinition = {
  name: 'reserve_replacement_ip',
  async run(ctx) {
    const { old } = await oldIpOf(ctx);
    const existing = await replacementOf(ctx, old);
    if (existing) {
      ctx.log(`${old.family} ${existing.address} already reserved`);
      return { address: existing.address };
    }
    const ip = await reserveIp(ctx.deps, ctx.server, old.family, ctx.log);
    return { address: ip.address };
  },
};

export const checkReplacementIp: StepDefinition = {
  name: 'check_replacement_ip',
  async run(ctx) {
    const { deps } = ctx;
    const { old } = await oldIpOf(ctx);
    for (;;) {
      const ip = (await replacementOf(ctx, old)) ?? (await reserveIp(deps, ctx.server, old.family, ctx.log));
      if (ip.state === 'active') return { address: ip.address }; // attached by a later step already (re-run)
      const verdicts = await deps.dnsbl.check(ip.address);
      await recordVerdicts(ctx, ctx.server.id, ip.address, verdicts);
      const listings = listingsOf(verdicts);
      const now = new Date(deps.clock.now());
      if (listings.length > 0) {
        await deps.database.db.update(serverIps).set({ state: 'listed', listings, checkedAt: now }).where(eq(serverIps.id, ip.id));
        ctx.log(`${ip.address} is listed on ${listings.map((l) => `${l.zone} (${l.codes.join(',')})`).join(', ')}`);
        // Candidates of this run only: earlier rotations of a long-lived server do not count.
        const tried = await deps.database.db
          .select()
          .from(serverIps)
          .where(and(eq(serverIps.serverId, ctx.server.id), eq(serverIps.family, old.family), gte(serverIps.createdAt, ctx.run.createdAt)));
        if (tried.length > deps.settings.maxRotations) {
          const all = tried.map((t) => ({ address: t.address, listings: t.id === ip.id ? listings : t.listings }));
          await releaseIp(deps, ctx.server, ip, ctx.log);
          await deps.alerts.open(deps.database.db, {
            kind: 'ip_rotation_exhausted',
            severity: 'critical',
            serverId: ctx.server.id,
            dedupeKey: `ip_rotation_exhausted:${ctx.server.id}:${old.family}`,
            message: `${ctx.server.hostname}: rotating ${old.address} gave up, ${tried.length} replacement ${old.family} addresses were all blacklisted`,
            details: { family: old.family, replacing: old.address, addresses: all },
          });
          throw new RotationsExhaustedError(
            `${old.family}: gave up after ${tried.length} candidates; every one was listed: ${all.map((a) => a.address).join(', ')}`,
            all,
          );
        }
        await releaseIp(deps, ctx.server, ip, ctx.log);
        continue;
      }
      const unknown = verdicts.filter((v) => v.status === 'unknown');
      if (unknown.length > 0) {
        await deps.database.db.update(serverIps).set({ state: 'unknown', checkedAt: now }).where(eq(serverIps.id, ip.id));
        throw new ProviderError({
          provider: 'dnsbl',
          retryable: true,
          code: 'dnsbl_inconclusive',
          detail: `${ip.address}: no conclusive answer from ${unknown.map((u) => u.zone).join(', ')}`,
        });
      }
      await deps.database.db.update(serverIps).set({ state: 'clean', listings: [], checkedAt: now }).where(eq(serverIps.id, ip.id));
      ctx.log(`${ip.address} is clean on ${verdicts.length} zones`);
      return { address: ip.address };
    }
  },
};
