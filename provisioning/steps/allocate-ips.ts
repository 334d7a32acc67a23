/** allocate_ips: one routed flexible IPv4 and one IPv6 /64, reserved in the zone and tagged with the server id. */
import type { StepDefinition } from '../context.ts';
import { currentIps, reserveIp } from '../ips.ts';

export const allocateIps: StepDefinition = {
  name: 'allocate_ips',
  async run(ctx) {
    const have = await currentIps(ctx.deps, ctx.server.id);
    const result: Record<string, string> = {};
    for (const family of ['ipv4', 'ipv6'] as const) {
      const existing = have.find((ip) => ip.family === family);
      const ip = existing ?? (await reserveIp(ctx.deps, ctx.server, family, ctx.log));
      if (existing) ctx.log(`${family} ${existing.address} already reserved`);
      result[family] = ip.address;
    }
    return result;
  },
};
