/** Object storage for server backups: one bucket per server in the server's own region, reached by a per-server key. */
export type StorageRegion = 'fr-par' | 'nl-ams' | 'pl-waw';

/** What restic needs to reach one repository with one credential. */
export interface RepositoryAccess {
  /** restic repository string, e.g. `s3:https://s3.fr-par.scw.cloud/mp-backup-<serverId>` */
  repository: string;
  endpoint: string;
  region: StorageRegion;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface BackupStorage {
  /**
   * Creates, idempotently, the server's bucket (versioned; noncurrent versions expire after
   * `noncurrentRetentionDays`) and a credential of the server's own that can list and read the bucket,
   * write new objects, and delete only under `locks/` (restic's lock files). Deleting or overwriting
   * history is refused to that credential by the storage itself (bucket policy), and versioning keeps
   * anything overwritten. Returns the server's credential (a new secret each call: store it).
   */
  ensureServerRepository(input: { serverId: string; region: StorageRegion; noncurrentRetentionDays: number }): Promise<RepositoryAccess>;
  /** The control plane's credential for the same repository (full rights: forget/prune/check/restore/erase). Never given to a server. */
  adminAccess(input: { serverId: string; region: StorageRegion }): Promise<RepositoryAccess>;
  /** Revokes every credential made for this server (the bucket stays). */
  revokeServerCredentials(input: { serverId: string; region: StorageRegion }): Promise<void>;
  /** Deletes every object version, delete marker and the bucket; resolves once nothing of it is left. */
  deleteRepository(input: { serverId: string; region: StorageRegion }): Promise<void>;
  /** Number of object versions (delete markers included) left in the server's bucket; 0 when the bucket is gone. */
  countObjectVersions(input: { serverId: string; region: StorageRegion }): Promise<number>;
}
