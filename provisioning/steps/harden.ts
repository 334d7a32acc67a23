/**
 * harden: sshd key-only, nftables, fail2ban, unattended upgrades (the script, which ends with
 * the server's post-apply hooks), then the cloud-init user data is deleted from the metadata
 * API: it carried the host private key and any process on the server could read it there.
 * The package versions the server now has are recorded: the drift check compares against them.
 */
import { recordAppliedPackages } from '../../src/fleet/applied.ts';
import { packagesVia } from '../../src/fleet/observe.ts';
import type { Zone } from '../../src/providers/compute/interface.ts';
import type { StepDefinition } from '../context.ts';
import { runScript, withSession } from '../remote.ts';
import { backupIfRunning } from './backup-steps.ts';

export const harden: StepDefinition = {
  name: 'harden',
  async run(ctx) {
    const { deps, server, log } = ctx;
    await backupIfRunning(ctx, 'harden');
    // One session for the script and the package versions after it (a second connection was a
    // handshake more on the critical path of every provisioning).
    const packages = await withSession(deps, server, async (session) => {
      await runScript(session, 'harden.sh', log);
      return packagesVia(session, () => {});
    });
    if (server.providerServerId) {
      await deps.compute.clearUserData(server.zone as Zone, server.providerServerId);
      log('cloud-init user data removed from the instance metadata');
    }
    await recordAppliedPackages(deps.database.db, server.id, packages);
    return {};
  },
};
