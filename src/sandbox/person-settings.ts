/**
 * The sandbox settings a person uses to watch mailplane handle the slow, human
 * parts of the real world, wired onto a constructed Sandbox:
 *
 * - SANDBOX_SMTP_BLOCKED=1: outbound SMTP is closed on every server (a new
 *   Scaleway account's default) until `mailplane sandbox smtp-open`.
 * - SANDBOX_ZONE_ACTIVATION=manual: zones stay pending until the customer
 *   "moves the nameservers" (`mailplane sandbox activate-zone DOMAIN`).
 * - SANDBOX_DNSSEC_ACTIVATION=registrar: DNSSEC stays pending until the customer
 *   "adds the DS at the registrar" (`mailplane sandbox add-ds DOMAIN`), then
 *   SANDBOX_DNSSEC_DELAY_SECONDS until Cloudflare sees it.
 * - SANDBOX_PENDING_ZONE_LIMIT: how many pending zones the account may hold.
 *
 * It also connects the emulators the way the world is connected: Scaleway
 * refuses a reverse until the forward record resolves (asked of the
 * Cloudflare emulator's public answers), and each emulated host's network
 * (its addresses, whether SMTP gets out) comes from the Scaleway emulator.
 * The emulators' URLs are written to the data dir so the CLI can find them.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sameIpv6 } from '../providers/compute/scaleway-ipv6.ts';
import type { Sandbox } from './sandbox.ts';

export interface PersonSettings {
  smtpBlocked: boolean;
  zoneActivation: 'immediate' | 'manual';
  /** registrar: DNSSEC pending until `mailplane sandbox add-ds DOMAIN`, active dnssecDelaySeconds later. */
  dnssecActivation?: 'immediate' | 'registrar';
  dnssecDelaySeconds?: number;
  pendingZoneLimit?: number;
}

export function applySandboxSettings(sandbox: Sandbox, settings: PersonSettings): void {
  const { scaleway, cloudflare, ssh } = sandbox;
  scaleway?.setSmtpBlocked(settings.smtpBlocked);
  cloudflare?.setZoneActivation(settings.zoneActivation);
  cloudflare?.setDnssecActivation(settings.dnssecActivation === 'registrar' ? 'pending' : 'immediate', (settings.dnssecDelaySeconds ?? 0) * 1000);
  if (settings.pendingZoneLimit !== undefined) cloudflare?.setPendingZoneLimit(settings.pendingZoneLimit);
  if (scaleway && cloudflare) {
    scaleway.setForwardCheck((hostname, address) => {
      const seen = cloudflare.answers(hostname, address.includes(':') ? 'AAAA' : 'A') ?? [];
      return seen.some((a) => (address.includes(':') ? sameIpv6(a, address) : a === address));
    });
  }
  if (scaleway && ssh) {
    ssh.network = (hostId) => {
      const server = scaleway.listServers().find((s) => s.id === hostId);
      const v4 = server
        ? scaleway
            .listIps()
            .filter((ip) => ip.serverId === hostId && ip.family === 'ipv4')
            .map((ip) => ip.address)
        : [];
      const v6 = scaleway.hostIpv6(hostId);
      const disk = scaleway.listVolumes().find((v) => v.serverId === hostId);
      return { addresses: [...v4, ...(v6 ? [v6] : [])], outboundSmtpOpen: scaleway.outboundSmtpOpen(hostId), ...(disk ? { diskBytes: disk.sizeBytes } : {}) };
    };
  }
}

const URLS_FILE = 'sandbox-emulators.json';

export interface EmulatorUrls {
  /** The sandbox's control API (`GET /env`: everything a process needs to use these emulators). */
  control?: string;
  scaleway: string | null;
  cloudflare: string | null;
  stripe: string | null;
}

/** Where the running sandbox's emulators listen, for `mailplane sandbox smtp-open|activate-zone`. */
export async function recordEmulatorUrls(sandbox: Sandbox, dataDir: string): Promise<void> {
  const urls: EmulatorUrls = {
    control: sandbox.controlUrl,
    scaleway: sandbox.scaleway?.url ?? null,
    cloudflare: sandbox.cloudflare?.url ?? null,
    stripe: sandbox.stripe?.url ?? null,
  };
  await mkdir(dataDir, { recursive: true });
  await writeFile(join(dataDir, URLS_FILE), `${JSON.stringify(urls, null, 2)}\n`, { mode: 0o600 });
}

export async function readEmulatorUrls(dataDir: string): Promise<EmulatorUrls | null> {
  try {
    return JSON.parse(await readFile(join(dataDir, URLS_FILE), 'utf8')) as EmulatorUrls;
  } catch {
    return null;
  }
}

/** On stop: the record goes if it still names this sandbox (another one may have started since). */
export async function forgetEmulatorUrls(sandbox: Sandbox, dataDir: string): Promise<void> {
  const urls = await readEmulatorUrls(dataDir);
  if (urls?.control === sandbox.controlUrl) await rm(join(dataDir, URLS_FILE), { force: true });
}
