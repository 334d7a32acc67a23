/**
 * Real-host disks as overlay layers, with the kernel's overlayfs (root only; no
 * machine is booted): a snapshot of a machine's disk carries what it added,
 * changed and deleted, a machine created from it sees exactly that over the
 * stock rootfs and writes only to its own layer, and a snapshot of that machine
 * keeps every layer.
 */
import { mkdtemp, readFile, rm, writeFile, mkdir, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseOf, lowerDirs, mountDisk, recordBase, snapshotLayer } from '../../../src/sandbox/hosts/disk-layers.ts';
import { run, tryRun } from '../../../src/sandbox/hosts/exec.ts';

const root = process.getuid?.() === 0;
if (!root && process.env['MAILPLANE_REQUIRE_TOOLS'] === '1') throw new Error('disk-layers tests need root (overlay mounts)');

describe.skipIf(!root)('real-host disk layers', () => {
  let dir: string;
  const mounted: string[] = [];
  const rootfs = () => join(dir, 'rootfs');
  const snapshots = () => join(dir, 'snapshots');

  async function machine(name: string, bootSnapshot: string | null): Promise<{ machineDir: string; merged: string }> {
    const machineDir = join(dir, 'machines', name);
    const merged = join(machineDir, 'root');
    await recordBase(machineDir, bootSnapshot);
    await mountDisk(machineDir, merged, await lowerDirs(snapshots(), await baseOf(machineDir), rootfs()));
    mounted.push(merged);
    return { machineDir, merged };
  }
  const unmount = async (merged: string) => {
    await run('umount', [merged]);
    mounted.splice(mounted.indexOf(merged), 1);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mailplane-layers-'));
    await mkdir(join(rootfs(), 'etc/ssh'), { recursive: true });
    await writeFile(join(rootfs(), 'etc/os-release'), 'debian 12\n');
    await writeFile(join(rootfs(), 'etc/machine-id'), '');
    await writeFile(join(rootfs(), 'etc/stock-only'), 'removed by the bake\n');
  });

  afterAll(async () => {
    for (const m of mounted.reverse()) await tryRun('umount', ['-l', m]);
    await rm(dir, { recursive: true, force: true });
  });

  it('a server from a snapshot sees the snapshotted disk, writes to its own layer, and a snapshot of it keeps every layer', async () => {
    // The bake machine: installs, changes and deletes over the stock rootfs, then stops (unmounted).
    const bake = await machine('bake', null);
    await mkdir(join(bake.merged, 'etc/postfix'), { recursive: true });
    await writeFile(join(bake.merged, 'etc/postfix/main.cf'), 'from the package\n');
    await writeFile(join(bake.merged, 'etc/machine-id'), '');
    await unlink(join(bake.merged, 'etc/stock-only'));
    await unmount(bake.merged);
    await snapshotLayer(bake.machineDir, snapshots(), 'snap-1');

    const server = await machine('server', 'snap-1');
    expect(await readFile(join(server.merged, 'etc/postfix/main.cf'), 'utf8')).toBe('from the package\n');
    expect(await readFile(join(server.merged, 'etc/os-release'), 'utf8')).toBe('debian 12\n');
    // The deletion travelled with the snapshot (an overlay whiteout, copied as one).
    expect(existsSync(join(server.merged, 'etc/stock-only'))).toBe(false);
    await writeFile(join(server.merged, 'etc/machine-id'), 'server-one\n');
    await writeFile(join(server.merged, 'etc/postfix/main.cf'), 'configured\n');

    // A second server from the same image shares none of the first one's writes.
    const other = await machine('other', 'snap-1');
    expect(await readFile(join(other.merged, 'etc/machine-id'), 'utf8')).toBe('');
    expect(await readFile(join(other.merged, 'etc/postfix/main.cf'), 'utf8')).toBe('from the package\n');
    // The image's layer itself is untouched.
    expect(await readFile(join(snapshots(), 'snap-1/upper/etc/postfix/main.cf'), 'utf8')).toBe('from the package\n');

    // A snapshot of a server made from the image keeps the image's layers under its own.
    await unmount(server.merged);
    await snapshotLayer(server.machineDir, snapshots(), 'snap-2');
    expect(await lowerDirs(snapshots(), 'snap-2', rootfs())).toBe([join(snapshots(), 'snap-2/upper'), join(snapshots(), 'snap-1/upper'), rootfs()].join(':'));
    const third = await machine('third', 'snap-2');
    expect(await readFile(join(third.merged, 'etc/machine-id'), 'utf8')).toBe('server-one\n');
    expect(await readFile(join(third.merged, 'etc/os-release'), 'utf8')).toBe('debian 12\n');
    expect(existsSync(join(third.merged, 'etc/stock-only'))).toBe(false);
  });

  it('refuses to boot from a snapshot whose disk is gone', async () => {
    await expect(lowerDirs(snapshots(), 'no-such-snapshot', rootfs())).rejects.toThrow(/no-such-snapshot's disk is not in/);
  });
});
