/** Registers the fleet jobs (drift checks, maintenance reboots, rollouts) and their minute sweep on a worker process. */
import { findServer } from '../servers/views.ts';
import type { FleetDeps } from './deps.ts';
import { observeHost } from './observe.ts';
import { rebootServer, sweepReboots } from './reboot.ts';
import { advanceRollout, sweepRollouts } from './rollouts.ts';
import { sweepDriftChecks } from './schedule.ts';

export async function registerFleetWorkers(deps: FleetDeps): Promise<void> {
  const { queue, database, log } = deps.provisioning;
  await queue.work('fleet.drift_check', async ({ serverId }) => {
    const server = await findServer(database.db, serverId);
    if (server.status !== 'ready') return;
    try {
      await observeHost(deps.provisioning, server);
    } catch (err) {
      // The checks then say when the host was last seen; the next check tries again.
      log.warn({ serverId, err }, 'drift check failed');
    }
    await queue.send('health.check_server', { serverId }, { singletonKey: serverId });
  });
  await queue.work('fleet.reboot', async ({ serverId }) => {
    const outcome = await rebootServer(deps, serverId);
    log.info({ serverId, ...outcome }, 'maintenance reboot');
  });
  await queue.work('rollouts.advance', async ({ rolloutId }) => advanceRollout(deps, rolloutId));
  await queue.work('fleet.sweep', async () => {
    await sweepDriftChecks(deps);
    await sweepReboots(deps);
    await sweepRollouts(deps);
  });
  await queue.schedule('fleet.sweep', '* * * * *', {});
}
