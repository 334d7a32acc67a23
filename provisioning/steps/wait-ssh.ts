/**
 * wait_ssh: SSH answers and presents exactly the host key pinned at creation. Being the first
 * session to a new instance, it is also the one that moves the server from root to the deploy
 * user (remote.ts, deploy-user.ts), before anything is installed.
 */
import type { StepDefinition } from '../context.ts';
import { withSession } from '../remote.ts';

export const waitSsh: StepDefinition = {
  name: 'wait_ssh',
  // A fresh instance takes a while to boot; unreachable is retryable, a wrong host key is not.
  maxAttempts: 30,
  async run({ deps, server, log }) {
    const out = await withSession(deps, server, (s) => s.exec('hostname'));
    log(`SSH ready (host key ${server.sshHostKeyFingerprint} verified), hostname ${out.stdout.trim()}`);
    return { hostKeyFingerprint: server.sshHostKeyFingerprint };
  },
};
