/**
 * What the emulated scripts have done to a host (installed, hardened, …),
 * kept in `<host dir>/state.json` next to its file system, so a host that is
 * powered off and on again — or a sandbox restarted on the same data dir —
 * still has its mail stack installed, as a real disk would.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface HostState {
  installedAt?: string;
  hardenedAt?: string;
  tlsIssuedAt?: string;
  mailboxesAppliedAt?: string;
  mailboxCount?: number;
  lastBackupAt?: string;
  /** Units a test stopped (the drift check and verify-services.sh report them). */
  stoppedServices?: string[];
  bootId?: string;
  /** Accounts deploy-user.sh created: name → its authorized keys (OpenSSH lines) and whether sudo makes it root. */
  users?: Record<string, { keys: string[]; sudo: boolean }>;
  /** What sshd enforces since it last loaded /etc/ssh/sshd_config; absent: the image's defaults (root with a key, anyone). */
  sshd?: { permitRootLogin: boolean; allowUsers: string[] | null };
}

/** The boot id of a host never rebooted (a reboot gives it a random one). */
export const FIRST_BOOT_ID = 'emulated-boot-1';

export class HostStateFile {
  private readonly path: string;
  private current: HostState;
  private writes: Promise<void> = Promise.resolve();

  private constructor(path: string, state: HostState) {
    this.path = path;
    this.current = state;
  }

  static async load(hostDir: string): Promise<HostStateFile> {
    const path = join(hostDir, 'state.json');
    try {
      return new HostStateFile(path, JSON.parse(await readFile(path, 'utf8')) as HostState);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return new HostStateFile(path, {});
    }
  }

  get(): HostState {
    return { ...this.current };
  }

  /** In-memory first (one process owns the host), then written by rename so a crash never leaves half a file. */
  update(patch: HostState): Promise<void> {
    this.current = { ...this.current, ...patch };
    const snapshot = JSON.stringify(this.current, null, 2);
    // Writes are chained: two scripts finishing together must not share the temp file.
    const write = this.writes.then(async () => {
      const tmp = `${this.path}.tmp`;
      await mkdir(dirname(this.path), { recursive: true });
      await writeFile(tmp, snapshot);
      await rename(tmp, this.path);
    });
    this.writes = write.catch(() => {});
    return write;
  }
}
