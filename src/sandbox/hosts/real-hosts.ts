/**
 * Real-host mode of the sandbox (SANDBOX_HOSTS=container): the network, the
 * host image, the sandbox internet's services and the containers, started and
 * stopped together. Needs root and Debian's debootstrap, systemd-container,
 * iproute2, apt-cacher-ng and pebble (README: "Real hosts").
 */
import { join } from 'node:path';
import type { HostLifecycle } from '../scaleway/state.ts';
import { run } from './exec.ts';
import { ContainerHosts } from './containers.ts';
import { DNS_PORT, ensureHostImage } from './image.ts';
import { HOST_POOLS, SandboxNetwork, UPLINK } from './network.ts';
import { InternetMx } from './internet-mx.ts';
import { InternetServices } from './services.ts';

export interface RealHostsOptions {
  /** Machines' disks and pids (the data dir's sandbox-hosts). */
  stateDir: string;
  /** Image, CA and package cache, kept across runs (outside the repository). */
  cacheDir: string;
  mirror: string;
  /** Where the DNS emulator listens (loopback), for pebble. */
  dnsServer: string;
  log?: (line: string) => void;
}

export class RealHosts {
  readonly network = new SandboxNetwork();
  /** The DNS emulator's address as the hosts see it. */
  readonly resolver = { host: UPLINK.root, port: DNS_PORT };
  private containers: ContainerHosts | null = null;
  private services: InternetServices | null = null;
  private caDir: string | null = null;
  readonly mx = new InternetMx();
  private readonly opts: RealHostsOptions;

  constructor(opts: RealHostsOptions) {
    this.opts = opts;
  }

  get lifecycle(): HostLifecycle & ContainerHosts {
    if (!this.containers) throw new Error('real hosts not started');
    return this.containers;
  }

  get acmeDirectoryUrl(): string {
    if (!this.services) throw new Error('real hosts not started');
    return this.services.acmeDirectoryUrl;
  }

  /** Pebble's root of this run (PEM file): certificates the hosts get chain to it. */
  get acmeRootFile(): string {
    if (!this.services) throw new Error('real hosts not started');
    return this.services.acmeRootFile;
  }

  /** The sandbox CA's directory (the hosts trust it), for services that serve HTTPS on the uplink. */
  get sandboxCaDir(): string {
    if (!this.caDir) throw new Error('real hosts not started');
    return this.caDir;
  }

  async start(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error('SANDBOX_HOSTS=container needs root (network namespaces, mounts, systemd-nspawn)');
    const log = this.opts.log ?? (() => {});
    // Every machine's systemd, journald, logind, dbus and Rspamd each hold inotify instances;
    // the kernel's default of 128 per user runs out after a few machines ("Too many open files").
    await run('sysctl', ['-q', '-w', 'fs.inotify.max_user_instances=1024']);
    const image = await ensureHostImage({ cacheDir: this.opts.cacheDir, mirror: this.opts.mirror, log });
    this.caDir = image.caDir;
    this.containers = new ContainerHosts({
      image,
      network: this.network,
      stateDir: this.opts.stateDir,
      registryDir: join(this.opts.cacheDir, 'running'),
      snapshotsDir: join(this.opts.cacheDir, 'snapshots'),
      log,
    });
    const left = await this.containers.cleanupLeftovers();
    if (left > 0) log(`sandbox: removed ${left} host(s) a previous sandbox left behind`);
    await this.network.up();
    this.services = new InternetServices({ cacheDir: this.opts.cacheDir, caDir: image.caDir, dnsServer: this.opts.dnsServer, mirror: this.opts.mirror, log });
    await this.services.start();
    await this.mx.start();
    log(
      `sandbox: real hosts (systemd-nspawn) on ${HOST_POOLS.ipv4} and ${HOST_POOLS.ipv6}; ACME at ${this.services.acmeDirectoryUrl}; ` +
        `judge from the sandbox internet with: ip netns exec ${this.network.inetNs} <command>`,
    );
  }

  async stop(): Promise<void> {
    await this.containers?.stopAll();
    await this.mx.stop();
    await this.services?.stop();
    await this.network.down();
  }
}

export const realHostsStateDir = (dataDir: string) => join(dataDir, 'sandbox-hosts', 'machines');
