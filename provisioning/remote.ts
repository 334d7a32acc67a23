/** An SSH session to a server with its pinned host key and mailplane's deploy key. */
import { eq } from 'drizzle-orm';
import type { Database } from '../src/db/client.ts';
import { servers } from '../src/db/schema/index.ts';
import { SshAuthRefusedError, type RemoteHostProvider, type RemoteSession } from '../src/providers/ssh/interface.ts';
import type { Vault } from '../src/vault/vault.ts';
import { BOOTSTRAP_USER, createDeployUser, DEPLOY_USER, provesRoot, recordDeployUser, SCRIPT_DIR } from './deploy-user.ts';
import { readSecret } from './server-keys.ts';

export { BOOTSTRAP_USER, DEPLOY_USER, SCRIPT_DIR } from './deploy-user.ts';

/**
 * What an SSH session to a server needs: the deploy key in the vault, where the server's SSH
 * answers, and the SSH client. The provisioning steps' deps have it, and so do the services
 * that reach servers outside a run (mailbox sync, backups), without depending on the engine.
 */
export interface RemoteAccess {
  database: Database;
  vault: Vault;
  remote: RemoteHostProvider;
  settings: { sshEndpoint(server: { id: string; ipv4: string | null }): Promise<{ host: string; port: number }> };
}

type Server = typeof servers.$inferSelect;

/**
 * A session whose commands and uploads run as root. It logs in as the user recorded on the
 * server (read again here: the caller's row may predate a move made by an earlier session);
 * a server still on root is first moved to the deploy user (deploy-user.ts).
 */
export async function withSession<T>(deps: RemoteAccess, server: Server, fn: (session: RemoteSession) => Promise<T>): Promise<T> {
  const session = await openSession(deps, server);
  try {
    return await fn(session);
  } finally {
    await session.close().catch(() => {});
  }
}

async function openSession(deps: RemoteAccess, server: Server): Promise<RemoteSession> {
  if (!server.sshHostKeyFingerprint) throw new Error('server has no pinned host key yet');
  const [row] = await deps.database.db.select({ sshUser: servers.sshUser }).from(servers).where(eq(servers.id, server.id));
  const endpoint = await deps.settings.sshEndpoint(server);
  const privateKey = await readSecret(deps.vault, deps, server, 'deploy_key');
  const connect = (username: string) =>
    deps.remote.connect({
      ...endpoint,
      username,
      privateKey,
      hostKeyFingerprint: server.sshHostKeyFingerprint!,
      readyTimeoutMs: 15_000,
    });
  if ((row?.sshUser ?? server.sshUser) !== BOOTSTRAP_USER) return connect(DEPLOY_USER);

  let root: RemoteSession;
  try {
    root = await connect(BOOTSTRAP_USER);
  } catch (err) {
    // Root refused: the move happened but was not recorded (a row restored from before it).
    if (!(err instanceof SshAuthRefusedError)) throw err;
    const session = await connect(DEPLOY_USER).catch(() => {
      throw err;
    });
    return adopt(deps, server, session);
  }
  try {
    await createDeployUser(root, server);
  } finally {
    await root.close().catch(() => {});
  }
  return adopt(deps, server, await connect(DEPLOY_USER));
}

async function adopt(deps: RemoteAccess, server: Server, session: RemoteSession): Promise<RemoteSession> {
  try {
    await provesRoot(session);
    await recordDeployUser(deps.database, server.id);
    return session;
  } catch (err) {
    await session.close().catch(() => {});
    throw err;
  }
}

export async function runScript(session: RemoteSession, name: string, log: (line: string) => void, stdin?: string): Promise<string> {
  const result = await session.exec(`bash ${SCRIPT_DIR}/${name}`, {
    ...(stdin !== undefined ? { stdin } : {}),
    timeoutMs: 30 * 60_000,
    onOutput: (chunk) => {
      for (const line of chunk.split('\n')) if (line.trim()) log(line);
    },
  });
  return result.stdout;
}
