/** What a step receives: its dependencies, the server, the run, a log. */
import type { Clock } from '../src/clock.ts';
import type { Database } from '../src/db/client.ts';
import type { provisioningRuns, servers } from '../src/db/schema/index.ts';
import type { JobQueue } from '../src/jobs/queue.ts';
import type { Logger } from '../src/log.ts';
import type { ComputeProvider } from '../src/providers/compute/interface.ts';
import type { DnsProvider } from '../src/providers/dns/interface.ts';
import type { BlacklistChecker, DnsLookup } from '../src/providers/lookup/interface.ts';
import type { RemoteHostProvider } from '../src/providers/ssh/interface.ts';
import type { BackupDeps } from '../src/backups/deps.ts';
import type { StackSource } from '../src/mailstack/stack.ts';
import type { Vault } from '../src/vault/vault.ts';
import type { AlertSink } from './alerts.ts';
import type { StepName } from './plan.ts';

export type ServerRow = typeof servers.$inferSelect;
export type RunRow = typeof provisioningRuns.$inferSelect;

export interface ProvisioningSettings {
  image: string;
  dmarcRua: string | null;
  acmeEmail: string | null;
  /** ACME directory for the servers' certificates; null: Let's Encrypt production. */
  acmeDirectoryUrl: string | null;
  /**
   * The instance type a plan gets in a zone (its preferred type or a fallback the zone sells, per
   * Scaleway's catalogue). Throws a ProviderError when the zone sells none (not retryable) or has
   * none in stock (retryable).
   */
  instanceTypeFor(planId: string, zone: string): Promise<string>;
  /** The instance type an image bake uses in a zone (the smallest plan's: the image's disk is the smallest boot disk). */
  imageBakeTypeFor(zone: string): Promise<string>;
  /** Zones that always keep a pre-baked image (MAIL_IMAGE_ZONES). */
  imageZones: readonly string[];
  /** The boot volume a plan's server gets: its mailbox storage plus the system's headroom. */
  rootVolumeBytesOf(planId: string): number;
  /** Plan limits rendered into the mail stack. */
  limitsOf(planId: string): { messagesPerHour: number; mailboxes: number; storageGb: number; aliases: number; forwards: number };
  /** Where to reach a server's SSH (the sandbox maps documentation IPs to loopback ports). */
  sshEndpoint(server: { id: string; ipv4: string | null }): Promise<{ host: string; port: number }>;
  /** Where mailplane reaches its servers from: SSH is open to these only (security group, nftables). */
  controlPlaneAddresses: string[];
  maxRotations: number;
  retry: { baseMs: number; maxMs: number; maxAttempts: number };
  /** wait_ssh and set_ptr poll; these bound how long. */
  serverBootTimeoutMs: number;
  pollIntervalMs: number;
  /** How often a step waiting on a person (nameservers, outbound SMTP) is checked again. */
  waitRecheckMs: number;
  /** DKIM key rotation (provisioning/dkim/; DKIM_* in the config). */
  dkim: DkimSettings;
  /** A TLS key rollover: from publishing both TLSA records to switching the key (at least twice the records' TTL). */
  tlsaRolloverWaitMs: number;
}

export interface DkimSettings {
  /** 0: no scheduled rotation. */
  rotationDays: number;
  overlapDays: number;
  deleteAfterDays: number;
  ed25519: boolean;
}

export interface ProvisioningDeps {
  database: Database;
  queue: JobQueue;
  compute: ComputeProvider;
  dns: DnsProvider;
  remote: RemoteHostProvider;
  lookup: DnsLookup;
  dnsbl: BlacklistChecker;
  vault: Vault;
  alerts: AlertSink;
  clock: Clock;
  log: Logger;
  settings: ProvisioningSettings;
  /** The mail stack mailplane renders now (its templates, their version and release). */
  stack: StackSource;
  random?: () => number;
  /** Backups (src/backups): a backup before a step changes a running server, the final one before deletion. */
  backups?: BackupDeps;
}

export interface StepContext {
  deps: ProvisioningDeps;
  run: RunRow;
  /** Re-read at the start of every attempt. */
  server: ServerRow;
  attempt: number;
  signal: AbortSignal;
  log(line: string): void;
  /** Re-reads the server row (steps update it as they learn things). */
  reloadServer(): Promise<ServerRow>;
}

export interface StepDefinition {
  name: StepName;
  /** Attempts before a retryable failure becomes final (default from settings). */
  maxAttempts?: number;
  // biome-ignore lint/suspicious/noConfusingVoidType: most steps return nothing; `undefined` would make them write `return undefined`.
  run(ctx: StepContext): Promise<Record<string, unknown> | void>;
}
