/** What the health checks are given by the composition root. */
import type { Db } from '../db/client.ts';
import type { Logger } from '../log.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { BlacklistChecker, DnsLookup } from '../providers/lookup/interface.ts';
import type { DiskProbe } from './disk-check.ts';
import type { ServiceProbe } from './probe.ts';
import type { ServerRow } from '../servers/views.ts';

export interface HealthDeps {
  db: Db;
  lookup: DnsLookup;
  dnsbl: BlacklistChecker;
  probe: ServiceProbe;
  /** Disk use read on the server itself (SSH). */
  disk: DiskProbe;
  mailer: Mailer;
  log: Logger;
  /** Links in the change notices point at the dashboard. */
  publicUrl: string;
  intervalMinutes: number;
  /** How old a stored DNSBL verdict may be and still answer the blacklists check (twice the monitor's interval). */
  blacklistMaxAgeMinutes?: number;
  /** false: no backup storage is configured, and the backup check says so instead of failing. */
  backupsConfigured?: boolean;
  /** The context clock's time: runs are dated by it and due runs found at it (a simulated or test clock in benches and tests). */
  now: () => Date;
  /**
   * Looks at the host now (the drift check, src/fleet/observe.ts); used when a server has never been
   * looked at, so its first health run (with `ready`) already says whether its services run.
   */
  observeHost?: (server: ServerRow) => Promise<unknown>;
  /** The maintenance window of servers whose customer chose none (the updates check names it). */
  defaultWindow?: { startMinute: number; durationMinutes: number };
}
