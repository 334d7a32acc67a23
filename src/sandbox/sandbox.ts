/**
 * The sandbox: local emulators for every provider that has no credentials,
 * wired to each other the way the real world is wired — the DNS emulator
 * answers from the Cloudflare emulator's zones and the Scaleway emulator's
 * reverse records, and the SSH emulator boots hosts from the cloud-init user
 * data that mailplane gave the Scaleway emulator. Everything listens on
 * 127.0.0.1 only, except what real hosts must reach: in real-host mode the DNS
 * emulator and Object Storage (HTTPS from the sandbox CA) also listen on the
 * sandbox uplink address.
 *
 * A small control API (`/ssh/endpoint`, `/env`) lets other processes (a worker
 * started separately, a test's child process) use the same emulators.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Hono } from 'hono';
import { CloudflareEmulator } from './cloudflare/emulator.ts';
import { DnsEmulator } from './dns/emulator.ts';
import { DnsblListings } from './dns/listings.ts';
import { UPLINK } from './hosts/network.ts';
import { issueIpCertificate } from './hosts/sandbox-ca.ts';
import { ObjectStorageEmulator } from './object-storage/emulator.ts';
import { RealHosts, realHostsStateDir } from './hosts/real-hosts.ts';
import { addressFromDnsblName } from './dns/responder.ts';
import { ScalewayEmulator, type ScalewayEmulatorOptions } from './scaleway/emulator.ts';
import { SandboxStatePersistence } from './persistence.ts';
import { serveOnLoopback, type RunningServer } from './serve.ts';
import { SshHostEmulator, type HostBehaviour } from './ssh/emulator.ts';
import { StripeEmulator } from './stripe/emulator.ts';

/** The sandbox account's Scaleway key: what SCW_ACCESS_KEY/SCW_SECRET_KEY hold for a process on the sandbox. */
export const SANDBOX_SCW_ACCOUNT = {
  accessKey: 'SCWSANDBOX0000000000',
  secretKey: '00000000-0000-4000-8000-000000000000',
  projectId: '00000000-0000-4000-8000-000000000001',
} as const;
/** Where real hosts reach Object Storage on the uplink (HTTPS). One sandbox at a time owns the uplink. */
export const OBJECT_STORAGE_UPLINK_PORT = 9000;

export interface SandboxOptions {
  compute: boolean;
  dns: boolean;
  billing: boolean;
  dataDir: string;
  dnsblZones: readonly string[];
  /** Where the Stripe emulator delivers webhooks (settable later: the API port may not be known yet). */
  webhookUrl?: string;
  /** Used when set; otherwise generated and shared in-process. */
  stripeWebhookSecret?: string;
  listedIps?: string[];
  /** List the first N IPs the Scaleway emulator allocates (demonstrates rotation). */
  listFirstIps?: number;
  /** Scaleway emulator options (benchmarks: server boot time, API latency). */
  scaleway?: Pick<ScalewayEmulatorOptions, 'bootDelayMs' | 'faults'>;
  /** Behaviour of every emulated host without its own (benchmarks: script durations). */
  sshBehaviour?: HostBehaviour;
  /** Keep the emulators' accounts across restarts under <dataDir>/sandbox-state/ (persistence.ts). Default: off. */
  persistState?: boolean;
  /** Real Debian machines behind the instances instead of emulated SSH hosts (SANDBOX_HOSTS=container). */
  realHosts?: { cacheDir: string; mirror: string };
  log?: (line: string) => void;
}

export class Sandbox {
  readonly scaleway: ScalewayEmulator | null;
  /** Scaleway Object Storage (and the IAM keys for it, served by the Scaleway emulator); with compute. */
  readonly objectStorage: ObjectStorageEmulator | null;
  /** The HTTPS URL real hosts use for Object Storage (real-host mode), null otherwise. */
  private objectStorageUplinkUrl: string | null = null;
  readonly cloudflare: CloudflareEmulator | null;
  readonly stripe: StripeEmulator | null;
  readonly ssh: SshHostEmulator | null;
  readonly dns: DnsEmulator | null;
  /** Real-host mode: containers, their network and the sandbox internet's services. */
  readonly realHosts: RealHosts | null;
  readonly listings = new DnsblListings();
  readonly stripeWebhookSecret: string;
  /** Decides, for each IP the Scaleway emulator allocates, whether the DNSBL emulator lists it. */
  listPolicy: ((ip: { address: string; family: 'ipv4' | 'ipv6' }, index: number) => boolean) | null = null;
  private control: RunningServer | null = null;
  private readonly opts: SandboxOptions;
  private persistence: SandboxStatePersistence | null = null;

  constructor(opts: SandboxOptions) {
    this.opts = opts;
    for (const ip of opts.listedIps ?? []) this.listings.list(ip);
    const first = opts.listFirstIps ?? 0;
    if (first > 0) this.listPolicy = (_ip, index) => index < first;
    let allocated = 0;
    const log = opts.log ?? (() => {});
    this.realHosts =
      opts.compute && opts.realHosts
        ? new RealHosts({
            stateDir: realHostsStateDir(opts.dataDir),
            cacheDir: opts.realHosts.cacheDir,
            mirror: opts.realHosts.mirror,
            // Known once the DNS emulator has started (start() starts it first).
            get dnsServer() {
              return dnsAddress();
            },
            log,
          })
        : null;
    const realHosts = this.realHosts;
    const dnsAddress = () => {
      if (!this.dns) throw new Error('real hosts need the DNS emulator (Cloudflare must be sandboxed too)');
      return this.dns.address;
    };
    const objectStorage = opts.compute ? new ObjectStorageEmulator({ dataDir: opts.dataDir, account: SANDBOX_SCW_ACCOUNT, log }) : null;
    this.objectStorage = objectStorage;
    this.scaleway = opts.compute
      ? new ScalewayEmulator({
          ...opts.scaleway,
          ...(objectStorage ? { extraRoutes: (app) => objectStorage.registerIamRoutes(app) } : {}),
          ...(realHosts
            ? {
                // Lazily: the containers exist once start() has built the image and the network.
                lifecycle: {
                  // The router knows a blocked group's addresses before the machine can send anything.
                  powerOn: async (h) => {
                    await this.applySmtpBlock();
                    await realHosts.lifecycle.powerOn(h);
                  },
                  powerOff: (id) => realHosts.lifecycle.powerOff(id),
                  reboot: (h) => realHosts.lifecycle.reboot(h),
                  remove: (id) => realHosts.lifecycle.remove(id),
                  // A Block snapshot is a copy of the machine's disk; a server from its image boots it.
                  snapshotDisk: (id, snapshotId) => realHosts.lifecycle.snapshotDisk(id, snapshotId),
                  dropSnapshot: (snapshotId) => realHosts.lifecycle.dropSnapshot(snapshotId),
                },
                onLifecycleError: (id: string, err: unknown) => log(`sandbox: host ${id} failed: ${err instanceof Error ? err.message : String(err)}`),
              }
            : {}),
          // Emulated hosts: the host's files go with its instance (real hosts: lifecycle.remove).
          onServerRemoved: (id) => {
            this.ssh
              ?.removeHost(id)
              .catch((err: unknown) => log(`sandbox: removing host ${id}'s files failed: ${err instanceof Error ? err.message : String(err)}`));
          },
          onIpCreated: (ip) => {
            // IPv6 comes as the ::1 of its routed /64: the address mailplane uses and the lists are asked about.
            if (this.listPolicy?.(ip, allocated++)) this.listings.list(ip.address);
          },
        })
      : null;
    this.cloudflare = opts.dns ? new CloudflareEmulator({ dnssecActivation: 'immediate' }) : null;
    this.stripeWebhookSecret = opts.stripeWebhookSecret ?? `whsec_${randomBytes(24).toString('base64url')}`;
    this.stripe = opts.billing
      ? new StripeEmulator({ webhookSecret: this.stripeWebhookSecret, ...(opts.webhookUrl ? { webhookUrl: opts.webhookUrl } : {}) })
      : null;
    const scaleway = this.scaleway;
    this.ssh =
      scaleway && !realHosts
        ? new SshHostEmulator({
            rootDir: join(opts.dataDir, 'sandbox-hosts'),
            ...(opts.sshBehaviour ? { defaultBehaviour: opts.sshBehaviour } : {}),
            resolveHost: (address) => {
              const server = scaleway.serverByIpv4(address);
              if (server?.state !== 'running') return null;
              // The host booted from the user data it had at first power-on (harden deletes it later).
              const cloudInit = scaleway.userDataAtFirstBoot(server.id);
              return cloudInit ? { id: server.id, hostname: server.name, cloudInit } : null;
            },
          })
        : null;
    const cloudflare = this.cloudflare;
    this.dns = cloudflare
      ? new DnsEmulator({
          answer: (name, type) => this.realHosts?.mx.answer(name, type) ?? (type === 'PTR' ? this.ptr(name) : cloudflare.answers(name, type)),
          dnsbl: { zones: opts.dnsblZones, listedCodes: (ip, zone) => this.listings.listedCodes(ip, zone) },
        })
      : null;
  }

  /** PTR answers come from the reverse records set in the Scaleway emulator. */
  private ptr(name: string): string[] | null {
    const address = reverseNameToAddress(name);
    if (!address || !this.scaleway) return null;
    const host = this.scaleway.reverseOf(address);
    return host ? [host] : null;
  }

  async start(): Promise<void> {
    const log = this.opts.log ?? (() => {});
    // Persistence hook: the accounts as they were at the last stop, before anything is served.
    if (this.opts.persistState) {
      this.persistence = new SandboxStatePersistence({ dataDir: this.opts.dataDir, emulators: this, log });
      await this.persistence.load();
    }
    const ports = this.persistence?.ports ?? {};
    if (this.scaleway) {
      await this.scaleway.start(ports.scaleway);
      log(`sandbox: scaleway at ${this.scaleway.url}`);
    }
    if (this.objectStorage) {
      await this.objectStorage.start();
      log(`sandbox: object storage (S3) at ${this.objectStorage.url}`);
    }
    if (this.cloudflare) {
      await this.cloudflare.start(ports.cloudflare);
      log(`sandbox: cloudflare at ${this.cloudflare.url}`);
    }
    if (this.stripe) {
      await this.stripe.start(ports.stripe);
      log(`sandbox: stripe at ${this.stripe.url}`);
    }
    if (this.dns) {
      await this.dns.start();
      log(`sandbox: dns at udp://${this.dns.address}`);
    }
    if (this.ssh) log('sandbox: ssh hosts on 127.0.0.1 (one port per emulated server)');
    if (this.realHosts && this.dns) {
      await this.realHosts.start();
      // The hosts' resolver (as DHCP would hand it out): the DNS emulator on the uplink.
      await this.dns.listenAlso(this.realHosts.resolver.host, this.realHosts.resolver.port);
      if (this.objectStorage) {
        // The hosts' restic reaches S3 over HTTPS as it would s3.<region>.scw.cloud, trusting the sandbox CA as the image does.
        const tls = await issueIpCertificate({ dir: this.realHosts.sandboxCaDir }, 'object-storage', UPLINK.root);
        this.objectStorageUplinkUrl = await this.objectStorage.listenAlso(UPLINK.root, OBJECT_STORAGE_UPLINK_PORT, {
          cert: await readFile(tls.certPath),
          key: await readFile(tls.keyPath),
        });
        log(`sandbox: object storage for real hosts at ${this.objectStorageUplinkUrl}`);
      }
      await this.applySmtpBlock();
      this.scaleway?.onSmtpBlockChange(() => {
        this.applySmtpBlock().catch((err: unknown) => log(`sandbox: applying the SMTP block failed: ${err instanceof Error ? err.message : String(err)}`));
      });
    }
    this.control = await serveOnLoopback(this.controlApp());
    this.persistence?.watch();
  }

  get controlUrl(): string {
    if (!this.control) throw new Error('sandbox not started');
    return this.control.url;
  }

  /** Environment for another mailplane process that should use these emulators. */
  env(): Record<string, string> {
    const env: Record<string, string> = { SANDBOX_URL: this.controlUrl };
    if (this.scaleway)
      Object.assign(env, {
        SCW_ACCESS_KEY: SANDBOX_SCW_ACCOUNT.accessKey,
        SCW_SECRET_KEY: SANDBOX_SCW_ACCOUNT.secretKey,
        SCW_DEFAULT_PROJECT_ID: SANDBOX_SCW_ACCOUNT.projectId,
        SCW_API_URL: this.scaleway.url,
      });
    if (this.objectStorage) {
      // One listener for every region (the signature names the region); servers use the uplink in real-host mode.
      Object.assign(env, { SCW_S3_ENDPOINT: this.objectStorage.url, SCW_S3_SERVER_ENDPOINT: this.objectStorageUplinkUrl ?? this.objectStorage.url });
    }
    if (this.cloudflare)
      Object.assign(env, { CLOUDFLARE_API_TOKEN: 'sandbox-token', CLOUDFLARE_ACCOUNT_ID: 'sandbox-account', CLOUDFLARE_API_URL: this.cloudflare.url });
    if (this.stripe)
      Object.assign(env, { STRIPE_SECRET_KEY: 'sk_test_sandbox', STRIPE_WEBHOOK_SECRET: this.stripeWebhookSecret, STRIPE_API_URL: this.stripe.url });
    if (this.dns) env['DNS_RESOLVERS'] = this.dns.address;
    if (this.realHosts) Object.assign(env, { ACME_DIRECTORY_URL: this.realHosts.acmeDirectoryUrl, HEALTH_TRUSTED_CA_FILE: this.realHosts.acmeRootFile });
    return env;
  }

  /** Real hosts feel the provider's outbound SMTP block per security group in their network (the router refuses ports 25/465/587), as on Scaleway. */
  async applySmtpBlock(): Promise<void> {
    if (this.realHosts && this.scaleway) await this.realHosts.network.setOutboundSmtpBlocked(this.scaleway.smtpBlockedAddresses());
  }

  /** Pebble's root (PEM file) in real-host mode, which the health checks trust as production trusts Let's Encrypt's; null otherwise. */
  get trustedCaFile(): string | null {
    return this.realHosts?.acmeRootFile ?? null;
  }

  /** The sandbox's ACME CA in real-host mode (pebble); null otherwise. */
  get acmeDirectoryUrl(): string | null {
    return this.realHosts?.acmeDirectoryUrl ?? null;
  }

  async sshEndpoint(address: string): Promise<{ host: string; port: number }> {
    // Real hosts answer on their own address, like a server on the internet.
    if (this.realHosts) return { host: address, port: 22 };
    if (!this.ssh) throw new Error('no SSH emulator: Scaleway is not sandboxed');
    return this.ssh.endpointFor(address);
  }

  private controlApp(): Hono {
    const app = new Hono();
    app.get('/env', (c) => c.json(this.env()));
    app.get('/ssh/endpoint', async (c) => {
      const address = c.req.query('address') ?? '';
      try {
        return c.json(await this.sshEndpoint(address));
      } catch (err) {
        return c.json({ error: err instanceof Error ? err.message : String(err) }, 503);
      }
    });
    return app;
  }

  async stop(): Promise<void> {
    await this.persistence?.stop();
    await this.control?.close();
    await this.realHosts?.stop();
    await this.ssh?.stop();
    await this.dns?.stop();
    await this.stripe?.stop();
    await this.cloudflare?.stop();
    await this.scaleway?.stop();
    await this.objectStorage?.stop();
  }
}

/** "10.2.0.192.in-addr.arpa" → "192.0.2.10"; ip6.arpa nibbles → compressed IPv6. */
export function reverseNameToAddress(name: string): string | null {
  const lower = name.toLowerCase().replace(/\.$/, '');
  // The labels before the suffix are spelled like a DNSBL query name: reversed octets or nibbles.
  for (const [suffix, family] of [
    ['.in-addr.arpa', 4],
    ['.ip6.arpa', 6],
  ] as const) {
    if (!lower.endsWith(suffix)) continue;
    const address = addressFromDnsblName(lower.slice(0, -suffix.length));
    return address && isIP(address) === family ? address : null;
  }
  return null;
}
