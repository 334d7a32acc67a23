/** An SSH session to a server with its pinned host key and mailplane's deploy key. */
import type { Database } from '../src/db/client.ts';
import type { servers } from '../src/db/schema/index.ts';
import type { RemoteHostProvider, RemoteSession } from '../src/providers/ssh/interface.ts';
import type { Vault } from '../src/vault/vault.ts';
import { readSecret } from './server-keys.ts';

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

/** Root with a key only (sshd: PermitRootLogin prohibit-password): the scripts install packages. */
export const DEPLOY_USER = 'root';
export const SCRIPT_DIR = '/opt/mailplane/bin';

export async function withSession<T>(deps: RemoteAccess, server: typeof servers.$inferSelect, fn: (session: RemoteSession) => Promise<T>): Promise<T> {
  if (!server.sshHostKeyFingerprint) throw new Error('server has no pinned host key yet');
  const endpoint = await deps.settings.sshEndpoint(server);
  const session = await deps.remote.connect({
    ...endpoint,
    username: DEPLOY_USER,
    privateKey: await readSecret(deps.vault, deps, server, 'deploy_key'),
    hostKeyFingerprint: server.sshHostKeyFingerprint,
    readyTimeoutMs: 15_000,
  });
  try {
    return await fn(session);
  } finally {
    await session.close().catch(() => {});
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
