/**
 * What every rotate_ip step needs: the IP being replaced (from the run's
 * params) and its replacement, found by looking at the server's IP rows
 * rather than remembered in memory, so any step can run again after a crash.
 */
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { serverIps } from '../../src/db/schema/index.ts';
import type { StepContext } from '../context.ts';
import { currentIps, type IpRow } from '../ips.ts';

export const RotationParams = z.object({
  /** server_ips.id of the address being replaced. */
  ipId: z.uuid(),
  address: z.string(),
  family: z.enum(['ipv4', 'ipv6']),
  reason: z.string(),
});
export type RotationParams = z.infer<typeof RotationParams>;

export async function oldIpOf(ctx: StepContext): Promise<{ params: RotationParams; old: IpRow }> {
  const params = RotationParams.parse(ctx.run.params);
  const [old] = await ctx.deps.database.db.select().from(serverIps).where(eq(serverIps.id, params.ipId));
  if (!old || old.serverId !== ctx.server.id) throw new Error(`IP row ${params.ipId} of this server is gone`);
  return { params, old };
}

/** The not-yet-released address of the same family that is not the old one (at most one exists). */
export async function replacementOf(ctx: StepContext, old: IpRow): Promise<IpRow | null> {
  const rows = await currentIps(ctx.deps, ctx.server.id);
  return rows.find((r) => r.family === old.family && r.id !== old.id) ?? null;
}

/** The IPs the server should be known by once the rotation is done: everything current except the old one. */
export async function ipsAfterRotation(ctx: StepContext, old: IpRow): Promise<IpRow[]> {
  return (await currentIps(ctx.deps, ctx.server.id)).filter((r) => r.id !== old.id);
}
