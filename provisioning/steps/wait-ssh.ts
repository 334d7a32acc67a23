/**
 * wait_ssh: SSH answers and presents exactly the host key pinned at creation. Being the first
 * session to a new instance, it is also the one that moves the server from root to the deploy
 * user (remote.ts, deploy-user.ts), before anything is installed.
 *
 * A booting instance refuses connections for a while (sshd starts once cloud-init has written
 * the pinned host key). The step keeps trying itself, every poll interval (at most a second),
 * for up to the boot timeout, rather than failing the attempt: the engine's backoff between
 * attempts (doubling from PROVISIONING_RETRY_BASE_MS) would add its whole wait to payment → ready
 * once sshd is up. Only an unreachable host is tried again; a wrong host key or a refused key
 * fails at once as before, and the step's attempts still bound a host that never answers.
 */
import { SshUnreachableError } from '../../src/providers/ssh/interface.ts';
import type { StepDefinition } from '../context.ts';
import { withSession } from '../remote.ts';

export const waitSsh: StepDefinition = {
  name: 'wait_ssh',
  // A fresh instance takes a while to boot; unreachable is retryable, a wrong host key is not.
  maxAttempts: 30,
  async run({ deps, server, log, signal }) {
    const deadline = deps.clock.now() + deps.settings.serverBootTimeoutMs;
    const interval = Math.min(deps.settings.pollIntervalMs, 1_000);
    let tries = 0;
    for (;;) {
      tries++;
      try {
        const out = await withSession(deps, server, (s) => s.exec('hostname'));
        log(`SSH ready (host key ${server.sshHostKeyFingerprint} verified) after ${tries} connection(s), hostname ${out.stdout.trim()}`);
        return { hostKeyFingerprint: server.sshHostKeyFingerprint };
      } catch (err) {
        if (!(err instanceof SshUnreachableError) || signal.aborted || deps.clock.now() + interval > deadline) throw err;
      }
      await deps.clock.sleep(interval, signal);
    }
  },
};
