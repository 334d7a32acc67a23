/** `mailplane images`: the pre-baked mail-server images per zone, and baking one now (ops). */
import { ZONES } from '../providers/compute/interface.ts';
import { packageDigest } from '../mailstack/packages.ts';
import { listImages, startBake } from '../../provisioning/image-refresh.ts';
import type { Command } from './command.ts';
import { cliContext } from './running-sandbox.ts';

const out = (line: string) => process.stdout.write(`${line}\n`);
const cliActor = () => ({ id: `cli:${process.env['USER'] ?? 'unknown'}`, kind: 'staff' as const, ip: null });

const USAGE = `mailplane images list
mailplane images bake ZONE

list  every bake, newest first: zone, status (baking, available, failed, retired), phase,
      the package digest it holds (the current one is printed first) and the provider's image id
bake  bakes ZONE's mail-server image now (a bake already under way in ZONE is answered instead):
      a fresh instance from the stock image gets the mail stack's packages, is stopped, its boot
      volume snapshotted and imaged, and deleted. The running product's workers do the work.
Zones: ${ZONES.join(', ')}`;

export const imagesCommand: Command = {
  name: 'images',
  usage: USAGE,
  async run(args) {
    const [action, zone, ...rest] = args;
    const valid = (action === 'list' && !zone) || (action === 'bake' && zone && (ZONES as readonly string[]).includes(zone));
    if (!valid || rest.length > 0) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    // A bake runs on the running product's providers; with none running, nothing would bake.
    const ctx = await cliContext({ needsProviders: action === 'bake' });
    if (typeof ctx === 'number') return ctx;
    try {
      if (action === 'bake') {
        const { bake, started } = await startBake(
          { database: ctx.database, queue: ctx.queue, clock: ctx.provisioning.clock, imageZones: [] },
          zone!,
          'manual',
          cliActor(),
        );
        out(`${started ? 'bake started' : 'a bake is already under way'} in ${zone}: ${bake.id} (packages ${bake.packageDigest})`);
        return 0;
      }
      out(`current package digest: ${packageDigest()}`);
      for (const r of await listImages(ctx.database)) {
        out(
          `${r.zone.padEnd(9)} ${r.status.padEnd(9)} ${r.phase.padEnd(12)} ${r.packageDigest} ${r.imageId ?? '-'} ${r.createdAt.toISOString()}${r.error ? `  ${r.error}` : ''}`,
        );
      }
      return 0;
    } finally {
      await ctx.close();
    }
  },
};
