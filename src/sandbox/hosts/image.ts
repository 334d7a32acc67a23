/**
 * The Debian 12 image every real-host instance boots: what a provider's
 * "debian_bookworm" image is (systemd, OpenSSH, cloud-init, locales, no host
 * keys, no machine id), trusting the CA that signs the sandbox ACME server's
 * own HTTPS certificate (Let's Encrypt's API is publicly trusted; the
 * sandbox's is trusted this way). What the provider's network tells a machine
 * (resolver, mirror) is written per machine: provider-files.ts.
 *
 * Built once per machine with debootstrap (~2.5 min) and kept outside the
 * repository; a version stamp rebuilds it when this recipe changes.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.ts';
import { ensureSandboxCa } from './sandbox-ca.ts';

/** Bump when the recipe below changes: existing images are rebuilt. */
const IMAGE_VERSION = '5';
/** debootstrap's own resolver cannot follow virtual packages (cloud-init's python3-cffi-backend-api-*): apt installs the rest. */
const BASE = ['systemd', 'systemd-sysv', 'dbus', 'iproute2', 'ca-certificates'];
const PACKAGES = ['openssh-server', 'cloud-init', 'locales', 'curl', 'gnupg', 'procps', 'less', 'cron'];
export const APT_PROXY_PORT = 3142;
export const DNS_PORT = 53;

export interface HostImage {
  rootfs: string;
  /** PEM of the CA the image trusts for the sandbox's own HTTPS services. */
  caCertPem: string;
  caDir: string;
}

export interface ImageOptions {
  cacheDir: string;
  mirror: string;
  log?: (line: string) => void;
}

export async function ensureHostImage(opts: ImageOptions): Promise<HostImage> {
  const dir = join(opts.cacheDir, 'debian-bookworm');
  const rootfs = join(dir, 'rootfs');
  const stamp = join(dir, 'image-version');
  const ca = await ensureSandboxCa(join(opts.cacheDir, 'sandbox-ca'));
  const current = existsSync(stamp) ? (await readFile(stamp, 'utf8')).trim() : null;
  if (current === `${IMAGE_VERSION}:${ca.fingerprint}` && existsSync(rootfs)) return { rootfs, caCertPem: ca.certPem, caDir: ca.dir };

  const log = opts.log ?? (() => {});
  await mkdir(dir, { recursive: true });
  const building = join(dir, 'rootfs.building');
  await rm(building, { recursive: true, force: true });
  log(`sandbox: building the Debian 12 host image with debootstrap in ${dir} (once per machine, a few minutes)`);
  await run('debootstrap', ['--variant=minbase', `--include=${BASE.join(',')}`, 'bookworm', building, opts.mirror], { timeoutMs: 20 * 60_000 });
  // No service may start inside the chroot while packages install.
  await writeFile(join(building, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  await run('env', ['DEBIAN_FRONTEND=noninteractive', 'chroot', building, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...PACKAGES], {
    timeoutMs: 20 * 60_000,
  });
  await rm(join(building, 'usr/sbin/policy-rc.d'));
  await customise(building, ca.certPem, opts.mirror);
  await rm(rootfs, { recursive: true, force: true });
  await rename(building, rootfs);
  await writeFile(stamp, `${IMAGE_VERSION}:${ca.fingerprint}\n`);
  log('sandbox: host image ready');
  return { rootfs, caCertPem: ca.certPem, caDir: ca.dir };
}

async function customise(root: string, caPem: string, mirror: string): Promise<void> {
  const put = async (path: string, content: string, mode = 0o644) => {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content, { mode });
  };
  const security = mirror.replace(/\/debian\/?$/, '/debian-security');
  await put(
    'etc/apt/sources.list',
    [`deb ${mirror} bookworm main`, `deb ${mirror} bookworm-updates main`, `deb ${security} bookworm-security main`, ''].join('\n'),
  );
  await put('usr/local/share/ca-certificates/mailplane-sandbox-ca.crt', caPem);
  await run('chroot', [root, 'update-ca-certificates'], { timeoutMs: 120_000 });
  // Like a cloud image: no host keys and no machine id until first boot (cloud-init writes the pinned key).
  await run('sh', ['-c', `rm -f ${join(root, 'etc/ssh/ssh_host_')}*`]);
  await writeFile(join(root, 'etc/machine-id'), '');
  await rm(join(root, 'var/lib/dbus/machine-id'), { force: true });
  await writeFile(join(root, 'etc/hostname'), 'localhost\n');
  await run('chroot', [root, 'apt-get', 'clean']);
  // The console is a pipe, not a tty: no getty on it.
  await run('chroot', [root, 'systemctl', 'mask', 'console-getty.service', 'getty@tty1.service']);
}
