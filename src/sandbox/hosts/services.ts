/**
 * The services of the sandbox internet that are not mailplane's emulators,
 * each a real Debian program listening on the uplink address the hosts reach:
 * - apt-cacher-ng: the hosts' package mirror (a caching proxy to Debian's
 *   mirror, its cache kept across runs so a second install downloads nothing);
 * - pebble: the ACME CA (Let's Encrypt's test server), resolving names through
 *   the DNS emulator and validating HTTP-01 on the hosts' port 80, as Let's
 *   Encrypt does. Its directory URL is what ACME_DIRECTORY_URL points at.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import { join } from 'node:path';
import { APT_PROXY_PORT } from './image.ts';
import { UPLINK } from './network.ts';
import { issueIpCertificate } from './sandbox-ca.ts';

export const ACME_PORT = 14000;

export interface InternetServicesOptions {
  cacheDir: string;
  caDir: string;
  /** The DNS emulator, as host:port, for pebble's lookups. */
  dnsServer: string;
  /** Debian mirror the proxy fetches from. */
  mirror: string;
  log?: (line: string) => void;
}

export class InternetServices {
  private readonly children: ChildProcess[] = [];
  private readonly opts: InternetServicesOptions;

  constructor(opts: InternetServicesOptions) {
    this.opts = opts;
  }

  get acmeDirectoryUrl(): string {
    return `https://${UPLINK.root}:${ACME_PORT}/dir`;
  }
  get aptProxyUrl(): string {
    return `http://${UPLINK.root}:${APT_PROXY_PORT}`;
  }

  async start(): Promise<void> {
    await this.killLeftovers();
    await this.startAptCacher();
    await this.startPebble();
  }

  private get pidDir(): string {
    return join(this.opts.cacheDir, 'running-services');
  }

  /** A crashed sandbox's services would still hold their ports on the uplink address. */
  private async killLeftovers(): Promise<void> {
    await mkdir(this.pidDir, { recursive: true });
    for (const name of await readdir(this.pidDir)) {
      const pid = Number((await readFile(join(this.pidDir, name), 'utf8').catch(() => '')).trim());
      const comm = pid > 0 ? (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() : '';
      if (comm && name.startsWith(comm)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await rm(join(this.pidDir, name), { force: true });
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.splice(0).map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) {
              resolve();
              return;
            }
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
  }

  private async startAptCacher(): Promise<void> {
    const cache = join(this.opts.cacheDir, 'apt-cacher-ng');
    const logs = join(this.opts.cacheDir, 'apt-cacher-ng-log');
    await mkdir(cache, { recursive: true });
    await mkdir(logs, { recursive: true });
    this.launch('apt-cacher-ng', '/usr/sbin/apt-cacher-ng', [
      '-c',
      '/etc/apt-cacher-ng',
      'ForeGround=1',
      `BindAddress=${UPLINK.root}`,
      `Port=${APT_PROXY_PORT}`,
      `CacheDir=${cache}`,
      `LogDir=${logs}`,
      `PidFile=${join(logs, 'pid')}`,
      `SocketPath=${join(logs, 'socket')}`,
      // Debian's mirror only; nothing else is proxied. The package's default backend
      // (ftp.debian.org) is replaced by the configured mirror.
      'PassThroughPattern=^$',
      'ExThreshold=30',
      `Remap-debrep=file:deb_mirror*.gz /debian ; ${this.opts.mirror.replace(/\/?$/, '/')}`,
    ]);
    await waitForPort(UPLINK.root, APT_PROXY_PORT, 'apt-cacher-ng');
  }

  private async startPebble(): Promise<void> {
    const dir = join(this.opts.cacheDir, 'pebble');
    await mkdir(dir, { recursive: true });
    const tls = await issueIpCertificate({ dir: this.opts.caDir }, 'acme-server', UPLINK.root);
    const config = join(dir, 'pebble-config.json');
    await writeFile(
      config,
      JSON.stringify(
        {
          pebble: {
            listenAddress: `${UPLINK.root}:${ACME_PORT}`,
            managementListenAddress: `127.0.0.1:${ACME_PORT + 1}`,
            certificate: tls.certPath,
            privateKey: tls.keyPath,
            // Validate where Let's Encrypt does: port 80 (HTTP-01) and 443 (TLS-ALPN-01).
            httpPort: 80,
            tlsPort: 443,
            ocspResponderURL: '',
            externalAccountBindingRequired: false,
          },
        },
        null,
        2,
      ),
    );
    this.launch('pebble', '/usr/bin/pebble', ['-config', config, '-dnsserver', this.opts.dnsServer], {
      // No random sleeps before validating and no nonces rejected on purpose: the sandbox is for watching, not for fuzzing certbot.
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0',
    });
    await waitForPort(UPLINK.root, ACME_PORT, 'pebble');
    await this.savePebbleRoot();
  }

  /** Where pebble's root of this run is saved: what a client trusting "the sandbox's Let's Encrypt" trusts. */
  get acmeRootFile(): string {
    return join(this.opts.cacheDir, 'pebble', 'root.pem');
  }

  /**
   * Pebble makes a new root at every start and serves it on its management API
   * (loopback, with the certificate we gave it for the uplink address).
   */
  private async savePebbleRoot(): Promise<void> {
    const caPem = await readFile(join(this.opts.caDir, 'ca.crt'), 'utf8');
    const pem = await new Promise<string>((resolve, reject) => {
      const req = httpsGet(
        {
          host: '127.0.0.1',
          port: ACME_PORT + 1,
          path: '/roots/0',
          ca: caPem,
          timeout: 10_000,
          checkServerIdentity: (_host, cert) => checkServerIdentity(UPLINK.root, cert),
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () =>
            res.statusCode === 200 && body.includes('BEGIN CERTIFICATE') ? resolve(body) : reject(new Error(`pebble /roots/0: ${res.statusCode}`)),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error('pebble /roots/0: timeout')));
      req.on('error', reject);
    });
    await writeFile(this.acmeRootFile, pem);
  }

  private launch(name: string, file: string, args: string[], env: Record<string, string> = {}): void {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    const tail: string[] = [];
    const keep = (chunk: Buffer) => {
      tail.push(chunk.toString());
      if (tail.length > 20) tail.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGTERM') this.opts.log?.(`sandbox: ${name} exited (${code ?? signal}): ${tail.join('').trim().slice(-500)}`);
    });
    this.children.push(child);
    void writeFile(join(this.pidDir, name), `${child.pid}\n`).catch(() => {});
  }
}

async function waitForPort(host: string, port: number, name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not start listening on ${host}:${port}`);
}
