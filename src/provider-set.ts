/**
 * Picks a real adapter or the sandbox for each provider: credentials present →
 * the real API (optionally at an overridden base URL); absent → an emulator
 * started in this process, reached through the same real SDK adapter. Domain
 * code only ever sees the interfaces.
 */
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import type { BillingProvider } from './providers/billing/interface.ts';
import { createStripeBilling } from './providers/billing/stripe.ts';
import type { ComputeProvider } from './providers/compute/interface.ts';
import { createScalewayCompute } from './providers/compute/scaleway.ts';
import { createCloudflareDns } from './providers/dns/cloudflare.ts';
import type { DnsProvider } from './providers/dns/interface.ts';
import { createDnsblChecker } from './providers/lookup/dnsbl.ts';
import { DEFAULT_DNSBL_ZONES } from './providers/lookup/dnsbl-zones.ts';
import type { BlacklistChecker, DnsLookup } from './providers/lookup/interface.ts';
import { createResolverLookup } from './providers/lookup/resolver.ts';
import type { RemoteHostProvider } from './providers/ssh/interface.ts';
import type { BackupStorage } from './providers/storage/interface.ts';
import { createScalewayObjectStorage } from './providers/storage/scaleway-object-storage.ts';
import { createSshRemote } from './providers/ssh/node-ssh.ts';
import { SshUnreachableError } from './providers/ssh/interface.ts';
import { applySandboxSettings, forgetEmulatorUrls, recordEmulatorUrls } from './sandbox/person-settings.ts';
import { SANDBOX_CONTROL_PLANE_ADDRESSES } from './sandbox/hosts/network.ts';
import { Sandbox, type SandboxOptions } from './sandbox/sandbox.ts';

export interface ProviderSet {
  compute: ComputeProvider;
  dns: DnsProvider;
  billing: BillingProvider;
  remote: RemoteHostProvider;
  lookup: DnsLookup;
  dnsbl: BlacklistChecker;
  /** Backup repositories: Scaleway Object Storage with the Scaleway credentials (the sandbox's emulator without them). */
  storage: BackupStorage;
  /** Where this control plane reaches servers from by default: the sandbox's own addresses; none for real providers (CONTROL_PLANE_ADDRESSES). */
  controlPlaneAddresses: string[];
  /** Where a server's SSH answers: its IPv4 on 22, or the sandbox's emulated host. */
  sshEndpoint(server: { id: string; ipv4: string | null }): Promise<{ host: string; port: number }>;
  sandbox: Sandbox | null;
  /** The sandbox's ACME CA when it runs real hosts (used unless ACME_DIRECTORY_URL is set). */
  acmeDirectoryUrl: string | null;
  close(): Promise<void>;
}

export interface ProviderOptions {
  /** A sandbox already running in this process (tests); otherwise one is started when needed. */
  sandbox?: Sandbox;
  /** Where the Stripe emulator should deliver webhooks. */
  webhookUrl?: string;
  /**
   * Start no sandbox (CLI commands with no running one): providers without credentials refuse
   * every call with this reason. Emulators of our own would be an empty, made-up world.
   */
  unavailable?: string;
}

/** The DNSBL zones to check: configured, or the default set. */
export const dnsblZonesOf = (config: Config): readonly string[] => (config.dns.dnsblZones.length > 0 ? config.dns.dnsblZones : DEFAULT_DNSBL_ZONES);

/** A sandbox configured from the environment (listings, data dir), for the providers in `emulate`. */
export function sandboxFromConfig(
  config: Config,
  log: Logger,
  emulate: Pick<SandboxOptions, 'compute' | 'dns' | 'billing'>,
  extra: Partial<SandboxOptions> = {},
): Sandbox {
  const sandbox = new Sandbox({
    ...emulate,
    dataDir: config.db.dataDir,
    dnsblZones: dnsblZonesOf(config),
    listedIps: config.sandbox.listedIps,
    listFirstIps: config.sandbox.listFirstIps,
    // The database outlives the process; so must the provider accounts it refers to (real hosts keep their own state).
    persistState: config.sandbox.hosts.mode !== 'container',
    ...(config.sandbox.hosts.mode === 'container' ? { realHosts: { cacheDir: config.sandbox.hosts.cacheDir, mirror: config.sandbox.hosts.mirror } } : {}),
    log: (line) => log.info(line),
    ...extra,
  });
  applySandboxSettings(sandbox, config.sandbox);
  return sandbox;
}

export async function createProviders(config: Config, log: Logger, clock: Clock, opts: ProviderOptions = {}): Promise<ProviderSet> {
  const needSandbox = { compute: !config.scaleway, dns: !config.cloudflare, billing: !config.stripe };
  const zones = dnsblZonesOf(config);
  let sandbox = opts.sandbox ?? null;
  let owned = false;
  if (!sandbox && opts.unavailable !== undefined) {
    return unavailableProviders(config, clock, opts.unavailable);
  }
  if (!sandbox && (needSandbox.compute || needSandbox.dns || needSandbox.billing)) {
    sandbox = sandboxFromConfig(config, log, needSandbox, opts.webhookUrl ? { webhookUrl: opts.webhookUrl } : {});
    await sandbox.start();
    owned = true;
    await recordEmulatorUrls(sandbox, config.db.dataDir).catch((err: unknown) => log.warn({ err }, 'sandbox: could not record the emulator URLs'));
  } else if (sandbox) {
    // A sandbox built by the caller (tests): the same wiring and settings as one built here.
    applySandboxSettings(sandbox, config.sandbox);
  }
  const env = sandbox?.env() ?? {};
  const scw = config.scaleway ?? {
    accessKey: env['SCW_ACCESS_KEY']!,
    secretKey: env['SCW_SECRET_KEY']!,
    projectId: env['SCW_DEFAULT_PROJECT_ID']!,
    apiUrl: env['SCW_API_URL'],
  };
  const cf = config.cloudflare ?? { apiToken: env['CLOUDFLARE_API_TOKEN']!, accountId: env['CLOUDFLARE_ACCOUNT_ID']!, apiUrl: env['CLOUDFLARE_API_URL'] };
  const stripe = config.stripe ?? { secretKey: env['STRIPE_SECRET_KEY']!, webhookSecret: env['STRIPE_WEBHOOK_SECRET']!, apiUrl: env['STRIPE_API_URL'] };
  // The sandbox DNS answers for the sandbox zones; with real Cloudflare, the configured (or system) resolvers.
  const resolvers = config.dns.resolvers.length > 0 ? config.dns.resolvers : env['DNS_RESOLVERS'] ? [env['DNS_RESOLVERS']] : [];

  const remoteSandbox = sandbox?.ssh ? sandbox : null;
  const sandboxUrl = config.sandbox.url;
  return {
    compute: createScalewayCompute({
      accessKey: scw.accessKey,
      secretKey: scw.secretKey,
      projectId: scw.projectId,
      ...(scw.apiUrl ? { apiUrl: scw.apiUrl } : {}),
      clock,
      catalogueTtlMs: config.scalewayCatalogueTtlMs,
    }),
    dns: createCloudflareDns({ apiToken: cf.apiToken, accountId: cf.accountId, ...(cf.apiUrl ? { apiUrl: cf.apiUrl } : {}) }),
    billing: createStripeBilling({ secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecret, ...(stripe.apiUrl ? { apiUrl: stripe.apiUrl } : {}) }),
    remote: createSshRemote(),
    lookup: createResolverLookup({ servers: resolvers }),
    dnsbl: createDnsblChecker({ servers: resolvers, zones }),
    storage: createScalewayObjectStorage(storageOptions(config, scw, env)),
    async sshEndpoint(server) {
      if (!server.ipv4) throw new SshUnreachableError(`server ${server.id} has no IPv4 yet`);
      if (remoteSandbox) return remoteSandbox.sshEndpoint(server.ipv4);
      if (sandboxUrl) return sandboxSshEndpoint(sandboxUrl, server.ipv4);
      return { host: server.ipv4, port: 22 };
    },
    controlPlaneAddresses: sandbox || sandboxUrl ? [...SANDBOX_CONTROL_PLANE_ADDRESSES] : [],
    sandbox,
    acmeDirectoryUrl: sandbox?.acmeDirectoryUrl ?? env['ACME_DIRECTORY_URL'] ?? null,
    close: async () => {
      if (!owned || !sandbox) return;
      await forgetEmulatorUrls(sandbox, config.db.dataDir).catch(() => {});
      await sandbox.stop();
    },
  };
}

/** Backup storage on the Scaleway credentials; endpoints from the config, else the sandbox's emulator, else Scaleway's. */
function storageOptions(
  config: Config,
  scw: { accessKey: string; secretKey: string; projectId: string; apiUrl?: string | undefined },
  env: Record<string, string>,
) {
  const endpoint = config.objectStorage.endpoint ?? env['SCW_S3_ENDPOINT'];
  const serverEndpoint = config.objectStorage.serverEndpoint ?? env['SCW_S3_SERVER_ENDPOINT'];
  return {
    accessKey: scw.accessKey,
    secretKey: scw.secretKey,
    projectId: scw.projectId,
    bucketPrefix: config.objectStorage.bucketPrefix,
    ...(scw.apiUrl ? { apiUrl: scw.apiUrl } : {}),
    ...(endpoint ? { endpointTemplate: endpoint } : {}),
    ...(serverEndpoint ? { serverEndpointTemplate: serverEndpoint } : {}),
  };
}

/** A provider whose every call fails with `reason` (a method call on it throws). */
function refusing<T extends object>(provider: string, reason: string): T {
  return new Proxy({} as T, {
    get: (_target, prop) =>
      prop === 'then' || typeof prop === 'symbol'
        ? undefined
        : () => {
            throw new Error(`${provider}: ${reason}`);
          },
  });
}

/** Real adapters for the providers with credentials; the others refuse (no sandbox is started). */
async function unavailableProviders(config: Config, clock: Clock, reason: string): Promise<ProviderSet> {
  const resolvers = config.dns.resolvers;
  const scw = config.scaleway;
  const cf = config.cloudflare;
  const stripe = config.stripe;
  return {
    compute: scw
      ? createScalewayCompute({
          accessKey: scw.accessKey,
          secretKey: scw.secretKey,
          projectId: scw.projectId,
          ...(scw.apiUrl ? { apiUrl: scw.apiUrl } : {}),
          clock,
          catalogueTtlMs: config.scalewayCatalogueTtlMs,
        })
      : refusing<ComputeProvider>('scaleway', reason),
    dns: cf
      ? createCloudflareDns({ apiToken: cf.apiToken, accountId: cf.accountId, ...(cf.apiUrl ? { apiUrl: cf.apiUrl } : {}) })
      : refusing<DnsProvider>('cloudflare', reason),
    billing: stripe
      ? createStripeBilling({ secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecret, ...(stripe.apiUrl ? { apiUrl: stripe.apiUrl } : {}) })
      : refusing<BillingProvider>('stripe', reason),
    remote: createSshRemote(),
    lookup: createResolverLookup({ servers: resolvers }),
    dnsbl: createDnsblChecker({ servers: resolvers, zones: dnsblZonesOf(config) }),
    storage: scw ? createScalewayObjectStorage(storageOptions(config, scw, {})) : refusing<BackupStorage>('scaleway object storage', reason),
    sshEndpoint: async () => {
      throw new SshUnreachableError(reason);
    },
    controlPlaneAddresses: [],
    sandbox: null,
    acmeDirectoryUrl: null,
    close: async () => {},
  };
}

/** A sandbox run by another process (`mailplane sandbox`): ask its control API. */
async function sandboxSshEndpoint(baseUrl: string, address: string): Promise<{ host: string; port: number }> {
  const res = await fetch(`${baseUrl}/ssh/endpoint?address=${encodeURIComponent(address)}`).catch((err: unknown) => {
    throw new SshUnreachableError(`sandbox control API unreachable: ${String(err)}`);
  });
  if (!res.ok) throw new SshUnreachableError(`no emulated host answers at ${address} yet`);
  return (await res.json()) as { host: string; port: number };
}
