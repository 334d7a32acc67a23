/**
 * The commands an emulated host understands, answered the way bash would:
 *
 *   (a command arrives as `sudo -n -- bash -c '…'` from a deploy user: accounts.ts unwraps it
 *   and says whether it runs as root; scripts and the reboot need root, as on a real host)
 *   hostname [-f]            the fqdn from cloud-init
 *   id -u                    0 as root, 1000 otherwise
 *   cat                      echoes stdin (lets tests see stdin arrive)
 *   ip -o addr show scope global   the host's addresses (from the Scaleway emulator), and the
 *                            IPv6 the installed mail stack holds (/etc/mailplane/ipv6-address)
 *   timeout N bash -c 'exec 3<>/dev/tcp/HOST/25 …'   the outbound SMTP probe: "220 …" when
 *                            the account's SMTP is open, exit 124 (timed out) while Scaleway blocks it
 *   df -B1 --output=size,used,avail /   the root file system: the boot volume's size (from the
 *                            Scaleway emulator), the bytes in use (SshHostEmulator.setDiskUsed)
 *   systemd-run --on-active=3 --unit=mailplane-reboot /bin/systemctl reboot
 *                            the maintenance reboot: /run (a tmpfs) is emptied, the boot id changes
 *   cat /proc/sys/kernel/random/boot_id   the boot id (new after each reboot)
 *   systemctl is-system-running --wait    "running": an emulated boot finishes at once
 *   bash <script path>       exit 127 "No such file or directory" unless the
 *                            file was uploaded; /opt/mailplane/bin/<name> then
 *                            runs SCRIPTS[name] (scripts.ts)
 *   anything else            exit 127 "command not found"
 *
 * A script that exists but that the emulator has no behaviour for fails with
 * exit 1 rather than pretend to succeed.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { FIRST_BOOT_ID } from './host-state.ts';
import { SCRIPTS, type ScriptContext } from './scripts.ts';

export const SCRIPT_DIR = '/opt/mailplane/bin';
/** Written by install_mail_stack (templates/network/ipv6-address). */
export const FIXED_IPV6_FILE = '/etc/mailplane/ipv6-address';

/** How a host misbehaves, set by tests: a script that fails, a delay before each command answers. */
export interface HostBehaviour {
  failScript?: string;
  /** failScript fails this many times, then runs as usual (a problem a re-apply cures); absent: always. */
  failScriptTimes?: number;
  delayMs?: number;
  /**
   * Extra delay per provisioning script (by file name, e.g. "install-mail-stack.sh"),
   * added to delayMs: benchmarks give each script a realistic duration.
   */
  scriptDelayMs?: Readonly<Record<string, number>>;
}

/** How long the host waits before answering `command` under `behaviour`. */
export function commandDelayMs(command: string, behaviour: HostBehaviour): number {
  let delay = behaviour.delayMs ?? 0;
  const words = command.trim().split(/\s+/);
  if (behaviour.scriptDelayMs && words.length === 2 && words[0] === 'bash') {
    delay += behaviour.scriptDelayMs[posix.basename(words[1]!)] ?? 0;
  }
  return Math.max(0, delay);
}

async function runScriptFile(path: string, ctx: ScriptContext, behaviour: HostBehaviour): Promise<number> {
  const remote = ctx.fs.remotePath(path);
  if (!(await ctx.fs.exists(remote))) {
    ctx.stderr(`bash: ${path}: No such file or directory\n`);
    return 127;
  }
  const name = posix.basename(remote);
  const handler = posix.dirname(remote) === SCRIPT_DIR ? SCRIPTS[name] : undefined;
  if (behaviour.failScript === name && (behaviour.failScriptTimes === undefined || behaviour.failScriptTimes-- > 0)) {
    ctx.stderr(`${name}: failed (sandbox behaviour failScript)\n`);
    return 1;
  }
  if (!handler) {
    ctx.stderr(`${path}: the sandbox has no emulated behaviour for this script\n`);
    return 1;
  }
  return handler(ctx);
}

/** Resolves to the exit code; output goes through ctx.stdout/ctx.stderr as it is produced. */
export async function runCommand(command: string, ctx: ScriptContext, behaviour: HostBehaviour): Promise<number> {
  const words = command.trim().split(/\s+/).filter(Boolean);
  const [program, ...args] = words;
  if (program === 'hostname' && (args.length === 0 || (args.length === 1 && args[0] === '-f'))) {
    ctx.stdout(`${ctx.fqdn}\n`);
    return 0;
  }
  if (program === 'id' && args.length === 1 && args[0] === '-u') {
    ctx.stdout(`${ctx.uid}\n`);
    return 0;
  }
  if (ctx.uid !== 0 && (program === 'bash' || program === 'systemd-run')) {
    // The scripts write /etc and restart services; systemd-run asks polkit, which says no.
    ctx.stderr(`${program}: ${args[0] ?? ''}: Permission denied (needs root)\n`);
    return 1;
  }
  if (program === 'cat' && args.length === 0) {
    ctx.stdout(ctx.stdin);
    return 0;
  }
  if (command.trim() === 'systemd-run --on-active=3 --unit=mailplane-reboot /bin/systemctl reboot') {
    ctx.stderr('Running timer as unit: mailplane-reboot.timer\n');
    await rm(ctx.fs.localPath('/run'), { recursive: true, force: true });
    await ctx.state.update({ bootId: randomUUID(), stoppedServices: [] });
    return 0;
  }
  if (command.trim() === 'cat /proc/sys/kernel/random/boot_id') {
    ctx.stdout(`${ctx.state.get().bootId ?? FIRST_BOOT_ID}\n`);
    return 0;
  }
  if (command.trim() === 'systemctl is-system-running --wait') {
    ctx.stdout('running\n');
    return 0;
  }
  if (program === 'bash' && args.length >= 1) return runScriptFile(args[0]!, { ...ctx, args: args.slice(1) }, behaviour);
  if (ctx.network && command.trim() === 'ip -o addr show scope global') {
    // Besides what the instance configures by itself, the address the mail stack fixes in the
    // routed prefix (mailplane-ipv6.service holds what this file says, once installed).
    const fixed = (await ctx.fs.read(FIXED_IPV6_FILE))?.content.toString('utf8').trim();
    for (const address of [...ctx.network.addresses, ...(fixed ? [fixed] : [])]) {
      const v6 = address.includes(':');
      ctx.stdout(
        `2: ens2    ${v6 ? 'inet6' : 'inet'} ${address}/${v6 ? 64 : 32} scope global ${v6 ? 'dynamic mngtmpaddr' : 'dynamic'} ens2\\       valid_lft forever preferred_lft forever\n`,
      );
    }
    return 0;
  }
  if (ctx.network?.diskBytes && command.trim() === 'df -B1 --output=size,used,avail /') {
    // ext4 keeps 5 % for root: what users can fill is size − reserve, as df's columns show.
    const size = ctx.network.diskBytes;
    const used = Math.min(ctx.diskUsedBytes ?? 0, Math.floor(size * 0.95));
    ctx.stdout(
      `  1B-blocks        Used       Avail\n${String(size).padStart(11)} ${String(used).padStart(11)} ${String(Math.floor(size * 0.95) - used).padStart(11)}\n`,
    );
    return 0;
  }
  const probe = /^timeout (\d+) bash -c 'exec 3<>\/dev\/tcp\/([a-z0-9.-]+)\/25\b/.exec(command.trim());
  if (ctx.network && probe) {
    if (!ctx.network.outboundSmtpOpen) return 124;
    ctx.stdout(`220 ${probe[2]} ESMTP ready\r\n`);
    return 0;
  }
  ctx.stderr(`bash: ${program ?? ''}: command not found\n`);
  return 127;
}
