/**
 * Who mailplane logs in as (issue 20, item 17), on the sandbox: a new instance knows only root;
 * the first session moves it to the deploy user before anything turns root off, and every later
 * session (re-runs of the early steps included) logs in as that user and reaches root through sudo.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOTSTRAP_USER, DEPLOY_USER, SCRIPT_DIR, withSession } from '../../../provisioning/remote.ts';
import { readSecret } from '../../../provisioning/server-keys.ts';
import { servers } from '../../../src/db/schema/index.ts';
import { SshAuthRefusedError } from '../../../src/providers/ssh/interface.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';
import { until } from '../../support/until.ts';

let h: Harness;
let serverId: string;
let hostId: string;
const row = async () => (await h.database.db.select().from(servers).where(eq(servers.id, serverId)))[0]!;
const commands = () => h.sandbox.ssh!.commands(hostId);
const moves = () => commands().filter((c) => c.command === `bash ${SCRIPT_DIR}/deploy-user.sh ${DEPLOY_USER}`);
/** A login with the server's deploy key as `username`, straight through the SSH adapter. */
const login = async (username: string) => {
  const server = await row();
  const p = h.ctx.provisioning;
  return p.remote.connect({
    ...(await p.settings.sshEndpoint(server)),
    username,
    privateKey: await readSecret(p.vault, p, server, 'deploy_key'),
    hostKeyFingerprint: server.sshHostKeyFingerprint!,
    readyTimeoutMs: 10_000,
  });
};

beforeAll(async () => {
  h = await startHarness();
  const { token, workspaceId } = await h.customer('deploy@example.org');
  ({ serverId } = await h.readyServer(token, workspaceId, 'deploy-user.example'));
  hostId = (await row()).providerServerId!;
});
afterAll(async () => {
  await h?.close();
});

describe('the deploy user', () => {
  it('is created by the first session as root, and every command after it comes from the deploy user through sudo', async () => {
    expect((await row()).sshUser).toBe(DEPLOY_USER);
    const all = commands();
    const byRoot = all.filter((c) => c.user === BOOTSTRAP_USER);
    expect(byRoot.map((c) => [c.command, c.stdin, c.exitCode])).toEqual([
      [`bash ${SCRIPT_DIR}/deploy-user.sh ${DEPLOY_USER}`, `${(await row()).deployPublicKey}\n`, 0],
    ]);
    expect(all[0]!.user).toBe(BOOTSTRAP_USER);
    const rest = all.slice(1);
    expect(rest.length).toBeGreaterThan(5);
    expect(rest.filter((c) => c.user !== DEPLOY_USER || !c.sudo)).toEqual([]);
    expect(rest.some((c) => c.command === `bash ${SCRIPT_DIR}/harden.sh` && c.exitCode === 0)).toBe(true);
  });

  it('turns root login off once hardened: root is refused with the deploy key, the deploy user gets in and is root only through sudo', async () => {
    expect((await h.sandbox.ssh!.state(hostId)).sshd).toEqual({ permitRootLogin: false, allowUsers: [DEPLOY_USER] });
    await expect(login(BOOTSTRAP_USER)).rejects.toBeInstanceOf(SshAuthRefusedError);
    const session = await login(DEPLOY_USER);
    try {
      expect((await session.exec('id -u')).stdout).toBe('0\n');
    } finally {
      await session.close();
    }
  });

  it('re-runs the early steps on a server whose root login is off, as the deploy user, without moving it again', async () => {
    const support = await h.staff('support-deploy@mailplane.test');
    const hardened = () => commands().filter((c) => c.command === `bash ${SCRIPT_DIR}/harden.sh` && c.exitCode === 0).length;
    for (const step of ['wait_ssh', 'harden']) {
      const before = step === 'harden' ? hardened() : commands().length;
      const res = await h.call('POST', `/v1/admin/servers/${serverId}/steps/${step}/rerun`, { token: support });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      await until(`${step} re-run`, async () => (step === 'harden' ? hardened() > before : commands().length > before), 60_000);
    }
    await h.waitForStep(serverId, 'harden', 'succeeded');
    expect(moves()).toHaveLength(1);
    expect((await row()).sshUser).toBe(DEPLOY_USER);
  });

  it('falls back to the deploy user when the row still says root but the server refuses root (a row restored from before the move)', async () => {
    await h.database.db.update(servers).set({ sshUser: BOOTSTRAP_USER }).where(eq(servers.id, serverId));
    const out = await withSession(h.ctx.provisioning, await row(), (s) => s.exec('hostname'));
    expect(out.stdout.trim()).toMatch(/deploy-user\.example$/);
    expect((await row()).sshUser).toBe(DEPLOY_USER);
    expect(moves()).toHaveLength(1);
  });
});
