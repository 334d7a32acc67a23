/**
 * wait_ssh on an instance whose sshd is not up yet: the step keeps connecting within its attempt
 * (a refused or timed-out connection is tried again every poll interval) instead of failing it
 * and waiting out the engine's backoff; a host key that is not the pinned one still fails at once.
 * The SSH emulator answers; the test's remote refuses the first connections as a booting host would.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProvisioningDeps, StepContext } from '../../../provisioning/context.ts';
import { waitSsh } from '../../../provisioning/steps/wait-ssh.ts';
import { provisioningRuns, servers } from '../../../src/db/schema/index.ts';
import { SshHostKeyMismatchError, SshUnreachableError, type RemoteHostProvider } from '../../../src/providers/ssh/interface.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
let serverId: string;
beforeAll(async () => {
  h = await startHarness();
  const { token, workspaceId } = await h.customer('wait-ssh@example.org');
  ({ serverId } = await h.readyServer(token, workspaceId, 'wait-ssh-mail.eu'));
});
afterAll(async () => h?.close());

/** The sandbox's SSH client, refusing the first `refusals` connections with `error`. */
function bootingRemote(real: RemoteHostProvider, refusals: number, error: () => Error) {
  const calls = { count: 0 };
  const remote: RemoteHostProvider = {
    async connect(target) {
      calls.count++;
      if (calls.count <= refusals) throw error();
      return real.connect(target);
    },
  };
  return { remote, calls };
}

async function runWaitSsh(deps: ProvisioningDeps, lines: string[]) {
  const [server] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
  const [run] = await h.database.db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, serverId));
  const ctx: StepContext = {
    deps,
    run: run!,
    server: server!,
    attempt: 1,
    signal: new AbortController().signal,
    log: (line) => lines.push(line),
    reloadServer: async () => server!,
  };
  return waitSsh.run(ctx);
}

describe('wait_ssh', () => {
  it('keeps connecting within one attempt while the host refuses connections', async () => {
    const deps = h.ctx.provisioning;
    const { remote, calls } = bootingRemote(deps.remote, 3, () => new SshUnreachableError('connect ECONNREFUSED (sshd not up yet)'));
    const lines: string[] = [];
    await expect(runWaitSsh({ ...deps, remote }, lines)).resolves.toMatchObject({ hostKeyFingerprint: expect.stringMatching(/^SHA256:/) });
    expect(calls.count).toBe(4);
    expect(lines.join('\n')).toMatch(/SSH ready .* after 4 connection\(s\)/);
  });

  it('fails at once on a host key that is not the pinned one', async () => {
    const deps = h.ctx.provisioning;
    const { remote, calls } = bootingRemote(deps.remote, 1, () => new SshHostKeyMismatchError('SHA256:pinned', 'SHA256:presented'));
    await expect(runWaitSsh({ ...deps, remote }, [])).rejects.toBeInstanceOf(SshHostKeyMismatchError);
    expect(calls.count).toBe(1);
  });
});
