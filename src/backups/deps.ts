/**
 * What the backup service receives. Built by the composition root; tests build
 * it by hand. `storage` is null when no object storage is configured: nothing
 * is backed up then, and the API and the page say so.
 */
import type { AlertSink } from '../../provisioning/alerts.ts';
import type { RemoteAccess } from '../../provisioning/remote.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../log.ts';
import type { BackupStorage } from '../providers/storage/interface.ts';
import type { Vault } from '../vault/vault.ts';

export type BackupSettings = Config['backups'];

export interface BackupDeps {
  database: Database;
  queue: JobQueue;
  vault: Vault;
  storage: BackupStorage | null;
  alerts: AlertSink;
  clock: Clock;
  log: Logger;
  settings: BackupSettings;
  /** SSH to the servers (deploy key, pinned host key): the provisioning steps' own deps. */
  provisioning: RemoteAccess;
  /**
   * The servers are the sandbox's emulated hosts: their backup.sh answers without
   * running restic, so snapshots are recorded as simulated and nothing on the control
   * plane pretends to check, prune or drill them.
   */
  simulatedHosts: boolean;
}
