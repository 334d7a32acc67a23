/**
 * A server's restic repository: its bucket and per-server credential (made by the
 * storage), its restic password, both kept in the vault, and the root-only env file
 * through which the server's backup.sh reaches them. Keys in the vault are not in
 * the backup; the backup's own keys are in the vault, never in the backup.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { ServerRow } from '../../provisioning/context.ts';
import { backupRepositories, servers } from '../db/schema/index.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { RepositoryAccess, StorageRegion } from '../providers/storage/interface.ts';
import type { SecretOwner } from '../vault/vault.ts';
import type { BackupDeps } from './deps.ts';
import type { ResticTarget } from './restic.ts';

export type RepositoryRow = typeof backupRepositories.$inferSelect;
export const BACKUP_ENV_PATH = '/etc/mailplane/backup.env';

const REGIONS: readonly StorageRegion[] = ['fr-par', 'nl-ams', 'pl-waw'];

/** fr-par-1 → fr-par: the bucket lives in the server's own region. */
export function regionOfZone(zone: string): StorageRegion {
  const region = zone.replace(/-\d+$/, '');
  if (!(REGIONS as readonly string[]).includes(region)) throw new Error(`no object storage region for zone ${zone}`);
  return region as StorageRegion;
}

const owner = (server: Pick<ServerRow, 'id' | 'workspaceId'>, purpose: 'restic_password' | 'backup_credential'): SecretOwner => ({
  table: 'backup_repositories',
  id: server.id,
  workspaceId: server.workspaceId,
  purpose,
});

export function storageOf(deps: BackupDeps) {
  if (!deps.storage) throw new ConflictError('No backup storage is configured', 'backups_unavailable');
  return deps.storage;
}

async function serverRow(deps: BackupDeps, serverId: string): Promise<ServerRow> {
  const [server] = await deps.database.db.select().from(servers).where(eq(servers.id, serverId));
  if (!server) throw new NotFoundError('Server');
  return server;
}

/**
 * Creates the repository's bucket and the server's credential once, and stores them
 * with a new restic password. A second call finds the row and asks the storage for
 * nothing (a new credential per call would leave the old one valid until revoked).
 */
export async function ensureRepository(deps: BackupDeps, serverId: string): Promise<RepositoryRow> {
  const server = await serverRow(deps, serverId);
  const [existing] = await deps.database.db.select().from(backupRepositories).where(eq(backupRepositories.serverId, serverId));
  if (existing?.serverCredentialSecretId && !existing.credentialsRevokedAt && !existing.deletedAt) return existing;
  if (existing?.deletedAt) throw new ConflictError("The server's backups were deleted", 'backups_deleted');
  const region = regionOfZone(server.zone);
  const access = await storageOf(deps).ensureServerRepository({ serverId, region, noncurrentRetentionDays: deps.settings.noncurrentRetentionDays });
  return deps.database.db.transaction(async (tx) => {
    // The password is made once: a new one would lock the server out of its own history.
    const passwordId = existing?.resticPasswordSecretId ?? (await deps.vault.put(tx, owner(server, 'restic_password'), randomBytes(32).toString('base64url')));
    const credentialId = await deps.vault.put(
      tx,
      owner(server, 'backup_credential'),
      JSON.stringify({ accessKeyId: access.accessKeyId, secretAccessKey: access.secretAccessKey }),
    );
    const values = {
      serverId,
      region,
      bucket: access.bucket,
      repository: access.repository,
      endpoint: access.endpoint,
      resticPasswordSecretId: passwordId,
      serverCredentialSecretId: credentialId,
      credentialsRevokedAt: null,
    };
    const [row] = await tx.insert(backupRepositories).values(values).onConflictDoUpdate({ target: backupRepositories.serverId, set: values }).returning();
    return row!;
  });
}

export async function resticPassword(deps: BackupDeps, server: Pick<ServerRow, 'id' | 'workspaceId'>): Promise<string> {
  return deps.vault.get(deps.database.db, owner(server, 'restic_password'));
}

/** Values are base64url, hex and the storage's own names: checked, so single quotes can hold them. */
const SAFE = /^[A-Za-z0-9_:/.@+=-]+$/;

/** The env file backup.sh sources (mode 0600, root): the server's credential, never the admin one. */
export async function backupEnvFile(deps: BackupDeps, server: ServerRow, repo: RepositoryRow): Promise<string> {
  const credential = JSON.parse(await deps.vault.get(deps.database.db, owner(server, 'backup_credential'))) as { accessKeyId: string; secretAccessKey: string };
  const vars: Record<string, string> = {
    RESTIC_REPOSITORY: repo.repository,
    RESTIC_PASSWORD: await resticPassword(deps, server),
    AWS_ACCESS_KEY_ID: credential.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credential.secretAccessKey,
    AWS_DEFAULT_REGION: repo.region,
  };
  return `# written by mailplane: this server's backup repository and its own credential\n${Object.entries(vars)
    .map(([k, v]) => {
      if (!SAFE.test(v)) throw new Error(`backup env: ${k} has characters the env file does not carry`);
      return `${k}='${v}'`;
    })
    .join('\n')}\n`;
}

/** restic with the control plane's admin credential: retention, check, drills, never given to a server. */
export async function adminTarget(deps: BackupDeps, server: Pick<ServerRow, 'id' | 'workspaceId'>, repo: RepositoryRow): Promise<ResticTarget> {
  const access: RepositoryAccess = await storageOf(deps).adminAccess({ serverId: server.id, region: repo.region as StorageRegion });
  return {
    repository: access.repository,
    password: await resticPassword(deps, server),
    accessKeyId: access.accessKeyId,
    secretAccessKey: access.secretAccessKey,
    region: access.region,
  };
}
