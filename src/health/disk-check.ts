/**
 * Disk use of the server's boot volume, which holds everything (system,
 * mailboxes, queue, logs; see src/servers/root-volume.ts). A full disk stops
 * mail: Postfix defers and then refuses, Dovecot cannot deliver. So the check
 * warns at 80 % (time to clean up or move to a larger plan) and fails at 95 %.
 * It asks the host itself (`df` over SSH); an emulated sandbox host answers
 * with what it was given (its volume's size, its simulated use).
 */
import type { ServerRow } from '../servers/views.ts';
import { result, type CheckResult } from './check-types.ts';
import type { DnsFacts } from './dns-checks.ts';

export const DISK_WARN_RATIO = 0.8;
export const DISK_FAIL_RATIO = 0.95;

export interface DiskUsage {
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
}

/** Reads the root file system's use on the server; throws when the server cannot be asked. */
export interface DiskProbe {
  usage(server: ServerRow): Promise<DiskUsage>;
}

/** The command the probe runs, and its output: GNU df, bytes, the root file system. */
export const DF_COMMAND = 'df -B1 --output=size,used,avail /';

export function parseDf(stdout: string): DiskUsage | null {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const numbers = line.trim().split(/\s+/).map(Number);
  if (numbers.length !== 3 || numbers.some((n) => !Number.isSafeInteger(n) || n < 0) || numbers[0] === 0) return null;
  const [sizeBytes, usedBytes, availableBytes] = numbers as [number, number, number];
  return { sizeBytes, usedBytes, availableBytes };
}

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;

export async function diskCheck(probe: DiskProbe, f: DnsFacts): Promise<CheckResult> {
  if (!f.server.sshHostKeyFingerprint || !f.server.ipv4)
    return result('disk', 'unknown', 'The server is not reachable yet.', 'Wait for provisioning to finish.');
  let usage: DiskUsage;
  try {
    usage = await probe.usage(f.server);
  } catch (err) {
    return result('disk', 'unknown', 'Could not read the disk use on the server.', 'Nothing to do: the next check asks again.', {
      error: err instanceof Error ? err.message : String(err),
    });
  }
  // As df counts it: what the filesystem lets users have (the root reserve is not theirs).
  const ratio = usage.usedBytes / (usage.usedBytes + usage.availableBytes);
  const percent = Math.round(ratio * 100);
  const details = { ...usage, percent, warnAt: DISK_WARN_RATIO * 100, failAt: DISK_FAIL_RATIO * 100 };
  const summary = `${percent} % of the disk used (${gb(usage.usedBytes)} of ${gb(usage.sizeBytes)}; ${gb(usage.availableBytes)} free).`;
  if (ratio >= DISK_FAIL_RATIO) {
    return result('disk', 'fail', summary, 'Mail will soon be refused: delete old mail or large mailboxes now, or move to a larger plan.', details);
  }
  if (ratio >= DISK_WARN_RATIO) {
    return result('disk', 'warn', summary, 'The disk is filling up: delete old mail or move to a larger plan before it is full.', details);
  }
  return result('disk', 'pass', summary, null, details);
}
