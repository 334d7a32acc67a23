/**
 * Machines' disks as overlay layers. A machine's disk is its own writable
 * layer (`<machine>/upper`) over read-only layers: the stock Debian rootfs,
 * or a snapshot's layers when it was created from a custom image. A Block
 * snapshot copies the machine's own layer (overlay whiteouts and opaque-dir
 * xattrs kept by `cp -a` as root) and names the snapshot its machine booted
 * from, so a snapshot of a server made from an image still has every layer.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.ts';

const MAX_CHAIN = 50;

/** The snapshot a machine's disk was made from ('' for the stock rootfs), fixed at its first boot. */
export async function recordBase(machineDir: string, bootSnapshot: string | null): Promise<void> {
  await mkdir(machineDir, { recursive: true });
  await writeFile(join(machineDir, 'base-snapshot'), bootSnapshot ?? '');
}

export async function baseOf(machineDir: string): Promise<string> {
  return (await readFile(join(machineDir, 'base-snapshot'), 'utf8').catch(() => '')).trim();
}

/** Copies the machine's own layer into `snapshotsDir/<snapshotId>` (atomically: a half copy is never a snapshot). */
export async function snapshotLayer(machineDir: string, snapshotsDir: string, snapshotId: string): Promise<void> {
  const target = join(snapshotsDir, snapshotId);
  const building = `${target}.building`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { recursive: true });
  await run('cp', ['-a', '--reflink=auto', join(machineDir, 'upper'), join(building, 'upper')], { timeoutMs: 20 * 60_000 });
  await writeFile(join(building, 'parent'), await baseOf(machineDir));
  await rm(target, { recursive: true, force: true });
  await rename(building, target);
}

export function hasSnapshot(snapshotsDir: string, snapshotId: string): boolean {
  return existsSync(join(snapshotsDir, snapshotId, 'upper'));
}

/** overlayfs `lowerdir` for a machine booted from `snapshotId`: its layers topmost first, then the rootfs. */
export async function lowerDirs(snapshotsDir: string, snapshotId: string, rootfs: string): Promise<string> {
  const layers: string[] = [];
  for (let s = snapshotId; s; ) {
    if (!hasSnapshot(snapshotsDir, s)) throw new Error(`snapshot ${s}'s disk is not in ${snapshotsDir}`);
    layers.push(join(snapshotsDir, s, 'upper'));
    s = (await readFile(join(snapshotsDir, s, 'parent'), 'utf8').catch(() => '')).trim();
    if (layers.length > MAX_CHAIN) throw new Error(`snapshot ${snapshotId}: more than ${MAX_CHAIN} layers`);
  }
  return [...layers, rootfs].join(':');
}

export async function mountDisk(machineDir: string, merged: string, lowerdir: string): Promise<void> {
  await mkdir(join(machineDir, 'upper'), { recursive: true });
  await mkdir(join(machineDir, 'work'), { recursive: true });
  await mkdir(merged, { recursive: true });
  await run('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${lowerdir},upperdir=${join(machineDir, 'upper')},workdir=${join(machineDir, 'work')}`,
    merged,
  ]);
}
