/**
 * The server's SSH host key, mailplane's per-server deploy key and the webmail
 * HMAC key, generated once and kept in the vault. publish_dns (SSHFP) and
 * create_server (cloud-init) both need the host key and may run at the same
 * time, so generation happens under a lock on the server row.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { generateEd25519KeyPair } from '../src/crypto/ssh-keys.ts';
import { servers } from '../src/db/schema/index.ts';
import type { Vault } from '../src/vault/vault.ts';
import type { Database } from '../src/db/client.ts';

type ServerRow = typeof servers.$inferSelect;

export const secretOwner = (server: Pick<ServerRow, 'id' | 'workspaceId'>, purpose: string) => ({
  table: 'servers',
  id: server.id,
  workspaceId: server.workspaceId,
  purpose,
});

export async function ensureServerKeys(deps: { database: Database; vault: Vault }, serverId: string): Promise<ServerRow> {
  return deps.database.db.transaction(async (tx) => {
    const [server] = await tx.select().from(servers).where(eq(servers.id, serverId)).for('update');
    if (!server) throw new Error(`server ${serverId} not found`);
    if (server.sshHostKeyFingerprint && server.deployPublicKey && server.webmailKeySecretId) return server;
    const host = generateEd25519KeyPair(`root@${server.hostname}`);
    const deploy = generateEd25519KeyPair(`mailplane@${server.id}`);
    const hostSecret = await deps.vault.put(tx, secretOwner(server, 'ssh_host_key'), host.privateKeyOpenSsh);
    const deploySecret = await deps.vault.put(tx, secretOwner(server, 'deploy_key'), deploy.privateKeyOpenSsh);
    const webmailSecret = await deps.vault.put(tx, secretOwner(server, 'webmail_hmac_key'), randomBytes(32).toString('base64'));
    const [updated] = await tx
      .update(servers)
      .set({
        sshHostKeyFingerprint: host.fingerprintSha256,
        sshHostPublicKey: host.publicKeyOpenSsh,
        sshHostPrivateKeySecretId: hostSecret,
        deployPublicKey: deploy.publicKeyOpenSsh,
        deployPrivateKeySecretId: deploySecret,
        webmailKeySecretId: webmailSecret,
        updatedAt: new Date(),
      })
      .where(eq(servers.id, serverId))
      .returning();
    return updated!;
  });
}

export async function readSecret(vault: Vault, deps: { database: Database }, server: Pick<ServerRow, 'id' | 'workspaceId'>, purpose: string): Promise<string> {
  return vault.get(deps.database.db, secretOwner(server, purpose));
}
