/**
 * The move from root to the deploy user, done by the first session to a server that still
 * has only root (a new instance: cloud-init put the deploy key on root; a server provisioned
 * before the deploy user existed). In this order, so that no crash can lock mailplane out:
 *
 *   1. as root: create the user with the deploy key, its sudo rule, SFTP under sudo (deploy-user.sh);
 *   2. log in as the user and run a command through sudo: the proof that both work;
 *   3. record the user on the server row; every later session logs in as it.
 *
 * Root login is turned off only afterwards, by the sshd_config that install_mail_stack uploads
 * (through a session that is already the deploy user) and harden applies. A crash between 1
 * and 3 leaves root usable and the next session repeats the move; a row that still says root
 * for a server whose root login is already off falls back to the deploy user (remote.ts).
 */
import { readFileSync } from 'node:fs';
import { and, eq } from 'drizzle-orm';
import type { Database } from '../src/db/client.ts';
import { servers } from '../src/db/schema/index.ts';
import { renderTemplate, TEMPLATES_DIR } from '../src/mailstack/render.ts';
import type { RemoteSession } from '../src/providers/ssh/interface.ts';

/** The only account that logs in over SSH once a server has moved (sshd_config: AllowUsers). */
export const DEPLOY_USER = 'mailplane';
/** What a new instance knows: cloud-init puts the deploy key on root. */
export const BOOTSTRAP_USER = 'root';
export const SCRIPT_DIR = '/opt/mailplane/bin';

function files(hostname: string) {
  const render = (name: string) => renderTemplate(readFileSync(new URL(`scripts/${name}`, TEMPLATES_DIR), 'utf8'), { hostname }, `scripts/${name}`);
  return ['apt-lib.sh', 'deploy-user.sh'].map((name) => ({ path: `${SCRIPT_DIR}/${name}`, content: render(name), mode: 0o755 }));
}

/** Step 1, in a root session. */
export async function createDeployUser(root: RemoteSession, server: { hostname: string; deployPublicKey: string | null }): Promise<void> {
  if (!server.deployPublicKey) throw new Error('server has no deploy key yet');
  await root.upload(files(server.hostname));
  await root.exec(`bash ${SCRIPT_DIR}/deploy-user.sh ${DEPLOY_USER}`, { stdin: `${server.deployPublicKey}\n`, timeoutMs: 10 * 60_000 });
}

/** Step 2: the deploy user's session reaches root through sudo (the adapter wraps every command). */
export async function provesRoot(session: RemoteSession): Promise<void> {
  const uid = (await session.exec('id -u', { timeoutMs: 30_000 })).stdout.trim();
  if (uid !== '0') throw new Error(`${DEPLOY_USER} does not reach root through sudo (id -u: ${uid})`);
}

/** Step 3. Only from root: a concurrent session that recorded it first wins the same value. */
export async function recordDeployUser(database: Database, serverId: string): Promise<void> {
  await database.db
    .update(servers)
    .set({ sshUser: DEPLOY_USER, updatedAt: new Date() })
    .where(and(eq(servers.id, serverId), eq(servers.sshUser, BOOTSTRAP_USER)));
}
