/** An SSH session to a server with its pinned host key and mailplane's deploy key. */
import type { RemoteSession } from '../src/providers/ssh/interface.ts';
import type { ProvisioningDeps, ServerRow } from './context.ts';
import { readSecret } from './server-keys.ts';

/** Root with a key only (sshd: PermitRootLogin prohibit-password): the scripts install packages. */
export const DEPLOY_USER = 'root';
export const SCRIPT_DIR = '/opt/mailplane/bin';

export async function withSession<T>(deps: ProvisioningDeps, server: ServerRow, fn: (session: RemoteSession) => Promise<T>): Promise<T> {
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
