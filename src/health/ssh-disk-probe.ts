/**
 * DiskProbe over SSH, with the same pinned host key and deploy key as
 * provisioning: `df` on the server itself, real host or emulated one.
 */
import type { ProvisioningDeps } from '../../provisioning/context.ts';
import { withSession } from '../../provisioning/remote.ts';
import { DF_COMMAND, parseDf, type DiskProbe } from './disk-check.ts';

export function sshDiskProbe(deps: ProvisioningDeps): DiskProbe {
  return {
    async usage(server) {
      const res = await withSession(deps, server, (session) => session.exec(DF_COMMAND, { timeoutMs: 20_000, check: false }));
      const usage = res.code === 0 ? parseDf(res.stdout) : null;
      if (!usage) throw new Error(`df answered ${res.code}: ${(res.stderr || res.stdout).trim().slice(0, 200)}`);
      return usage;
    },
  };
}
