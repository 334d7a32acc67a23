/**
 * harden: sshd key-only, nftables, fail2ban, unattended upgrades (the script),
 * then the cloud-init user data is deleted from the metadata API: it carried
 * the host private key and any process on the server could read it there.
 */
import type { Zone } from '../../src/providers/compute/interface.ts';
import type { StepDefinition } from '../context.ts';
import { runScript, withSession } from '../remote.ts';
import { backupIfRunning } from './backup-steps.ts';

export const harden: StepDefinition = {
  name: 'harden',
  async run(ctx) {
    const { deps, server, log } = ctx;
    await backupIfRunning(ctx, 'harden');
    await withSession(deps, server, (session) => runScript(session, 'harden.sh', log));
    if (server.providerServerId) {
      await deps.compute.clearUserData(server.zone as Zone, server.providerServerId);
      log('cloud-init user data removed from the instance metadata');
    }
    return {};
  },
};
