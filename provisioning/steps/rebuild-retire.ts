/**
 * retire_instance (rebuild): the instance the server had when the rebuild began
 * (lost, broken, or too small) is deleted with its boot volume, which lets its
 * flexible IPs go (they outlive it, kept with their reverse DNS); create_server
 * then attaches the same IPs to a new instance, so no DNS record changes.
 *
 * Only that instance: a re-run of this step after create_server must never
 * delete the new one, so the instance to retire is fixed in the run's params
 * when the rebuild starts. The step ends only once the instance is gone, or
 * create_server would find it by its tag and adopt the dying machine.
 */
import { eq } from 'drizzle-orm';
import { servers } from '../../src/db/schema/index.ts';
import { ProviderError } from '../../src/errors.ts';
import type { Zone } from '../../src/providers/compute/interface.ts';
import type { StepDefinition } from '../context.ts';
import { serverTag } from '../tags.ts';

export interface RebuildParams {
  /** The instance to retire (null: the server had none left). */
  retireInstanceId: string | null;
  reason: string;
}

export const retireInstance: StepDefinition = {
  name: 'retire_instance',
  maxAttempts: 30,
  async run({ deps, server, run, log }) {
    const { retireInstanceId } = run.params as unknown as RebuildParams;
    const zone = server.zone as Zone;
    if (retireInstanceId) {
      const old = await deps.compute.getServer(zone, retireInstanceId);
      if (old) {
        // Detached first: the IPs must be free for the new instance whatever happens to the old one.
        for (const ipId of old.ipIds) await deps.compute.detachIp(zone, ipId);
        await deps.compute.deleteServer(zone, old.id);
        log(`deleted instance ${old.id} (state ${old.state}); its IPs are kept for the new one`);
      } else {
        log(`instance ${retireInstanceId} is already gone`);
      }
      if (await deps.compute.getServer(zone, retireInstanceId)) {
        throw new ProviderError({
          provider: 'scaleway',
          retryable: true,
          code: 'instance_still_there',
          detail: `instance ${retireInstanceId} is still being deleted`,
        });
      }
    }
    // Its boot volume outlives it (Block Storage): a detached volume of this server's goes too.
    const volumes = (await deps.compute.findVolumesByTag(zone, serverTag(server.id))).filter((v) => !v.serverId);
    for (const volume of volumes) {
      await deps.compute.deleteVolume(zone, volume.id);
      log(`deleted volume ${volume.id}`);
    }
    await deps.database.db.update(servers).set({ providerServerId: null, updatedAt: new Date() }).where(eq(servers.id, server.id));
    return { retired: retireInstanceId, volumes: volumes.map((v) => v.id) };
  },
};
