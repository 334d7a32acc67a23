/**
 * Real Debian 12 machines behind the Scaleway emulator's instances: each is a
 * `systemd-nspawn --boot` container on an overlay of the host image (its own
 * disk: the upper layer), in its own network namespace holding the instance's
 * addresses, booting real cloud-init from mailplane's user data (a NoCloud
 * seed written at every power-on, as the metadata API serves the current user
 * data) and running real OpenSSH.
 *
 * A machine's disk and console log live under `stateDir/<id>/`; every running
 * machine is also recorded machine-wide (`registryDir`), so a sandbox that
 * crashed is cleaned up by the next one (`cleanupLeftovers`) instead of
 * leaving containers running unseen.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { HostLifecycle, HostSpec } from '../scaleway/state.ts';
import { run, tryRun } from './exec.ts';
import { baseOf, hasSnapshot, lowerDirs, mountDisk, recordBase, snapshotLayer } from './disk-layers.ts';
import type { HostImage } from './image.ts';
import type { SandboxNetwork } from './network.ts';
import { providerFiles } from './provider-files.ts';

/** systemd-nspawn's exit code when the container asked to reboot. */
const REBOOT_EXIT = 133;
const STOP_TIMEOUT_MS = 60_000;

export interface ContainerHostsOptions {
  image: HostImage;
  network: SandboxNetwork;
  stateDir: string;
  /** Machine-wide record of running machines (any sandbox's), so a crashed one's are found. */
  registryDir: string;
  /**
   * Block snapshots of machines' disks (kept across sandboxes, like the image): each is a copy of
   * a machine's own layer plus the name of the snapshot that machine booted from, if any.
   */
  snapshotsDir: string;
  log?: (line: string) => void;
}

interface Machine {
  spec: HostSpec;
  child: ChildProcess | null;
  /** Resolves when the current nspawn process has exited. */
  exited: Promise<void>;
  stopping: boolean;
}

export class ContainerHosts implements HostLifecycle {
  private readonly machines = new Map<string, Machine>();
  private readonly opts: ContainerHostsOptions;

  constructor(opts: ContainerHostsOptions) {
    this.opts = opts;
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }
  private dir(id: string): string {
    return join(this.opts.stateDir, id);
  }
  private merged(id: string): string {
    return join(this.dir(id), 'root');
  }

  /** Runs a command inside a running machine (all its namespaces), as its console would; for diagnostics. */
  async inMachine(id: string, argv: string[]): Promise<string> {
    const pid = this.machines.get(id)?.child?.pid;
    if (!pid) throw new Error(`machine ${id} is not running`);
    const leader = (await run('pgrep', ['-P', String(pid)])).stdout.trim().split('\n')[0];
    const { stdout, stderr } = await run('nsenter', ['-t', leader!, '-a', '--', ...argv], { timeoutMs: 60_000 });
    return `${stdout}${stderr}`;
  }

  /** The machine's filesystem as seen from outside (tests read logs and files through it). */
  rootOf(id: string): string {
    return this.merged(id);
  }

  async powerOn(spec: HostSpec): Promise<void> {
    if (this.machines.get(spec.id)?.child) throw new Error(`machine ${spec.id} is already running`);
    const dir = this.dir(spec.id);
    const firstBoot = !existsSync(join(dir, 'upper'));
    // The disk's origin, fixed at creation: the stock rootfs, or a snapshot (a custom image).
    if (firstBoot) await recordBase(dir, spec.bootSnapshot);
    await this.mount(spec.id);
    if (firstBoot) {
      for (const file of providerFiles()) {
        const path = join(this.merged(spec.id), file.path);
        await mkdir(dirname(path), { recursive: true });
        await rm(path, { force: true });
        await writeFile(path, file.content, { mode: file.mode });
      }
    }
    await this.writeSeed(spec);
    await this.opts.network.attachHost(spec.id, { ipv4: spec.ipv4, ipv6: spec.ipv6, ipv6Prefixes: spec.ipv6Prefixes }, spec.macAddress);
    this.start(spec);
  }

  async powerOff(id: string): Promise<void> {
    const machine = this.machines.get(id);
    if (machine?.child) {
      machine.stopping = true;
      // nspawn turns SIGTERM into SIGRTMIN+3 for the container's systemd: a clean poweroff.
      machine.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (machine.child?.pid) void killContainer(machine.child.pid);
      }, STOP_TIMEOUT_MS);
      await machine.exited;
      clearTimeout(timer);
    }
    this.machines.delete(id);
    await this.unmount(id);
    await this.opts.network.detachHost(id);
    await rm(join(this.opts.registryDir, id), { force: true });
  }

  async reboot(spec: HostSpec): Promise<void> {
    await this.powerOff(spec.id);
    await this.powerOn(spec);
  }

  async remove(id: string): Promise<void> {
    await this.powerOff(id);
    await rm(this.dir(id), { recursive: true, force: true });
  }

  /**
   * Pulls the plug and powers the machine on again, as a hypervisor restarts a
   * crashed VM (tests: a machine dying mid-step). Its disk keeps whatever was half-written.
   */
  async crashAndRestart(id: string): Promise<void> {
    const machine = this.machines.get(id);
    if (!machine?.child?.pid) throw new Error(`machine ${id} is not running`);
    machine.stopping = true;
    await killContainer(machine.child.pid);
    await machine.exited;
    this.machines.delete(id);
    await this.powerOn(machine.spec);
  }

  /** Stops every machine this object started (sandbox stop). Their disks stay until the instances are deleted. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.machines.keys()].map((id) => this.powerOff(id)));
  }

  /**
   * Machines a crashed sandbox (this data dir's or another's) left running: killed,
   * unmounted and unplugged; this data dir's disks are deleted, since the instances
   * they belonged to died with the emulator.
   */
  async cleanupLeftovers(): Promise<number> {
    let cleaned = 0;
    await mkdir(this.opts.registryDir, { recursive: true });
    for (const id of await readdir(this.opts.registryDir)) {
      const entry = JSON.parse(await readFile(join(this.opts.registryDir, id), 'utf8').catch(() => '{}')) as { pid?: number; merged?: string };
      if (entry.pid && (await readFile(`/proc/${entry.pid}/comm`, 'utf8').catch(() => '')).trim() === 'systemd-nspawn') {
        await killContainer(entry.pid);
      }
      if (entry.merged && (await isMountPoint(entry.merged))) await tryRun('umount', ['-l', entry.merged]);
      await this.opts.network.detachHost(id);
      await rm(join(this.opts.registryDir, id), { force: true });
      cleaned++;
    }
    if (existsSync(this.opts.stateDir)) {
      for (const id of await readdir(this.opts.stateDir)) {
        await this.unmount(id);
        await rm(this.dir(id), { recursive: true, force: true });
      }
    }
    return cleaned;
  }

  /** A Block snapshot of the machine's disk (crash-consistent if it runs, as on Scaleway; a bake stops it first). */
  async snapshotDisk(id: string, snapshotId: string): Promise<void> {
    await snapshotLayer(this.dir(id), this.opts.snapshotsDir, snapshotId);
  }

  async dropSnapshot(snapshotId: string): Promise<void> {
    await rm(join(this.opts.snapshotsDir, snapshotId), { recursive: true, force: true });
  }

  /** Whether a snapshot's disk is here (the test harness keeps a baked one across runs). */
  hasSnapshot(snapshotId: string): boolean {
    return hasSnapshot(this.opts.snapshotsDir, snapshotId);
  }

  private async mount(id: string): Promise<void> {
    const merged = this.merged(id);
    if (await isMountPoint(merged)) return;
    const dir = this.dir(id);
    await mountDisk(dir, merged, await lowerDirs(this.opts.snapshotsDir, await baseOf(dir), this.opts.image.rootfs));
  }

  private async unmount(id: string): Promise<void> {
    const merged = this.merged(id);
    if (await isMountPoint(merged)) await tryRun('umount', ['-l', merged]);
  }

  /** NoCloud: what Scaleway's metadata API serves, here a seed on the machine's own disk. */
  private async writeSeed(spec: HostSpec): Promise<void> {
    const seed = join(this.merged(spec.id), 'var/lib/cloud/seed/nocloud');
    await mkdir(seed, { recursive: true, mode: 0o700 });
    await writeFile(join(seed, 'meta-data'), `instance-id: ${spec.id}\nlocal-hostname: ${spec.name}\n`, { mode: 0o600 });
    await writeFile(join(seed, 'user-data'), spec.userData.get('cloud-init') ?? '', { mode: 0o600 });
  }

  private start(spec: HostSpec): void {
    const dir = this.dir(spec.id);
    const consoleLog = openSync(join(dir, 'console.log'), 'a');
    const child = spawn(
      'systemd-nspawn',
      [
        '--boot',
        '--register=no',
        '--keep-unit',
        '--capability=CAP_NET_ADMIN',
        '--resolv-conf=off',
        '--timezone=off',
        '--link-journal=no',
        '--console=read-only',
        `--network-namespace-path=/run/netns/${this.opts.network.hostNetns(spec.id)}`,
        `--directory=${this.merged(spec.id)}`,
        `--machine=${this.opts.network.hostNetns(spec.id)}`,
      ],
      { detached: true, stdio: ['ignore', consoleLog, consoleLog] },
    );
    closeSync(consoleLog);
    let done!: () => void;
    const machine: Machine = {
      spec,
      child,
      exited: new Promise((r) => {
        done = r;
      }),
      stopping: false,
    };
    this.machines.set(spec.id, machine);
    void mkdir(this.opts.registryDir, { recursive: true })
      .then(() => writeFile(join(this.opts.registryDir, spec.id), JSON.stringify({ pid: child.pid, merged: this.merged(spec.id) })))
      .catch(() => {});
    child.on('exit', (code) => {
      machine.child = null;
      done();
      // `reboot` inside the machine: start it again, as a VM's hypervisor does.
      if (code === REBOOT_EXIT && !machine.stopping) {
        this.log(`sandbox host ${spec.name}: rebooting`);
        this.start(spec);
      } else if (!machine.stopping) {
        this.log(`sandbox host ${spec.name}: machine stopped (exit ${code ?? 'signal'})`);
      }
    });
    this.log(`sandbox host ${spec.name}: booting (${[...spec.ipv4, ...spec.ipv6].join(', ')})`);
  }
}

/**
 * Kills a container outright: SIGKILL to its init (the nspawn process's child) ends every
 * process of its PID namespace; killing only systemd-nspawn would leave the machine
 * running, orphaned, with nothing left that knows about it.
 */
async function killContainer(nspawnPid: number): Promise<void> {
  const children = await run('pgrep', ['-P', String(nspawnPid)])
    .then((r) => r.stdout.trim().split('\n').filter(Boolean))
    .catch(() => [] as string[]);
  for (const child of children) {
    try {
      process.kill(Number(child), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  try {
    process.kill(nspawnPid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  for (let i = 0; i < 100 && existsSync(`/proc/${nspawnPid}`); i++) await new Promise((r) => setTimeout(r, 100));
}

async function isMountPoint(path: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[4] === path);
}
