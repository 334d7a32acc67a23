/**
 * The sandbox's accounts survive a restart with the data dir, as a provider's
 * do: without this, a restarted `npm start` kept its servers in the database
 * while the emulators had forgotten their instances, zones and subscriptions —
 * and the Scaleway emulator handed a new server the addresses of a live one.
 *
 * One JSON snapshot in <dataDir>/sandbox-state/ (mode 0600: it holds user data
 * with cloud-init secrets), loaded before the emulators start, written when
 * it changed (checked every second, so a burst of API calls is one write) and
 * on stop. Written to a temporary file and renamed, so a crash mid-write leaves
 * the previous snapshot whole. The emulated hosts' disks already live in
 * sandbox-hosts/.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CloudflareEmulator } from './cloudflare/emulator.ts';
import type { CloudflareSnapshot } from './cloudflare/state.ts';
import type { ScalewayEmulator, ScalewaySnapshot } from './scaleway/emulator.ts';
import type { StripeEmulator } from './stripe/emulator.ts';
import type { StripeSnapshot } from './stripe/state.ts';

const VERSION = 1;
const CHECK_EVERY_MS = 1_000;

/** The emulators' HTTP ports: kept across a restart, so the links they handed out (a checkout page) still work. */
export interface EmulatorPorts {
  scaleway?: number;
  cloudflare?: number;
  stripe?: number;
}

interface Snapshot {
  version: number;
  scaleway: ScalewaySnapshot | null;
  cloudflare: CloudflareSnapshot | null;
  stripe: StripeSnapshot | null;
  ports?: EmulatorPorts;
}

export interface PersistedEmulators {
  scaleway: ScalewayEmulator | null;
  cloudflare: CloudflareEmulator | null;
  stripe: StripeEmulator | null;
}

const portOf = (name: keyof EmulatorPorts, emulator: { url: string } | null): EmulatorPorts => {
  if (!emulator) return {};
  try {
    return { [name]: Number(new URL(emulator.url).port) };
  } catch {
    return {}; // not started yet
  }
};

export const sandboxStateDir = (dataDir: string) => join(dataDir, 'sandbox-state');

export class SandboxStatePersistence {
  private readonly dir: string;
  private readonly file: string;
  private readonly emulators: PersistedEmulators;
  private readonly log: (line: string) => void;
  private lastWritten = '';
  private timer: ReturnType<typeof setInterval> | null = null;
  private writing: Promise<void> = Promise.resolve();
  /** The ports of the last run (empty before load() or for a fresh account). */
  ports: EmulatorPorts = {};

  constructor(opts: { dataDir: string; emulators: PersistedEmulators; log: (line: string) => void }) {
    this.dir = sandboxStateDir(opts.dataDir);
    this.file = join(this.dir, 'emulators.json');
    this.emulators = opts.emulators;
    this.log = opts.log;
  }

  /** Restores the last snapshot into the (not yet started) emulators; none: a fresh account. */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return;
    }
    const snap = JSON.parse(text) as Snapshot;
    if (snap.version !== VERSION)
      throw new Error(`${this.file}: snapshot version ${snap.version}, expected ${VERSION} (move it away to start with empty emulators)`);
    const { scaleway, cloudflare, stripe } = this.emulators;
    if (scaleway && snap.scaleway) scaleway.restore(snap.scaleway);
    if (cloudflare && snap.cloudflare) cloudflare.restore(snap.cloudflare);
    if (stripe && snap.stripe) stripe.restore(snap.stripe);
    this.ports = snap.ports ?? {};
    this.lastWritten = text;
    this.log(`sandbox: state restored from ${this.file}`);
  }

  /** Writes the snapshot whenever it changed. */
  watch(): void {
    this.timer = setInterval(() => void this.save(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  /** Writes now if anything changed since the last write (one write at a time). */
  save(): Promise<void> {
    this.writing = this.writing
      .then(() => this.write())
      .catch((err: unknown) => {
        this.log(`sandbox: saving the emulators' state failed: ${err instanceof Error ? err.message : String(err)}`);
      });
    return this.writing;
  }

  /** Stops watching and writes the last state. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.save();
  }

  private async write(): Promise<void> {
    const { scaleway, cloudflare, stripe } = this.emulators;
    const snap: Snapshot = {
      version: VERSION,
      scaleway: scaleway?.snapshot() ?? null,
      cloudflare: cloudflare?.snapshot() ?? null,
      stripe: stripe?.snapshot() ?? null,
      ports: { ...this.ports, ...portOf('scaleway', scaleway), ...portOf('cloudflare', cloudflare), ...portOf('stripe', stripe) },
    };
    const text = JSON.stringify(snap);
    if (text === this.lastWritten) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, this.file);
    this.lastWritten = text;
  }
}
