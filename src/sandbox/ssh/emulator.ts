/**
 * Emulated mail servers reachable over real SSH (ssh2's Server), one listener
 * per host on 127.0.0.1. A host boots, on the first endpointFor() of its
 * address, from the cloud-init user data mailplane gave the compute provider:
 * it presents that host key and lets in only the keys listed for each user.
 *
 * - Auth: publickey only. The key must be authorized for the user AND its
 *   signature must verify; a bare "is this key acceptable?" query is answered
 *   for authorized keys only. none/password/keyboard-interactive are refused.
 * - Exec: no bash. commands.ts answers the commands provisioning sends
 *   (hostname, bash /opt/mailplane/bin/<script>) with plausible output and
 *   exit codes, after stdin has reached EOF. Every command is recorded.
 *   A signal or a closed channel ends a command; it is recorded with 137
 *   (128 + SIGKILL), as bash reports a killed child.
 * - SFTP: sftp-server.ts, writing under `<rootDir>/<hostId>/fs/`.
 * - State (installed, TLS key, …) lives under `<rootDir>/<hostId>/` and
 *   survives a restart on the same rootDir, like a disk.
 *
 * A host whose address stops resolving (stopped, deleted) is refused by
 * endpointFor(); its listener stays until stop().
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
// ssh2 is CommonJS; Node's ESM loader does not see Server as a named export.
import ssh2, { type AuthContext, type Connection, type ServerChannel, type Session } from 'ssh2';
import { hasSudo, keysFor, privilegeOf, unwrapSudo } from './accounts.ts';
import { bootFromCloudInit, type BootedHost, type EmulatedHostSpec } from './boot.ts';
import { commandDelayMs, runCommand, type HostBehaviour } from './commands.ts';
import { HostFs } from './host-fs.ts';
import { HostStateFile, type HostState } from './host-state.ts';
import type { ScriptContext } from './scripts.ts';
import { advertisePosixRename, serveSftp, type SftpRequest } from './sftp-server.ts';

export type { HostBehaviour } from './commands.ts';
export type { SftpRequest } from './sftp-server.ts';

export interface SshHostEmulatorOptions {
  /** Each host keeps its files and state in `<rootDir>/<hostId>/`. */
  rootDir: string;
  /** The server behind an IP, or null when none is running there. */
  resolveHost(address: string): EmulatedHostSpec | null;
  /** Behaviour of every host without its own (setBehaviour); benchmarks set script durations here. */
  defaultBehaviour?: HostBehaviour;
}

export interface RecordedCommand {
  /** The command as it runs: `sudo -n -- bash -c '…'` is unwrapped (`sudo` says it came that way). */
  command: string;
  stdin: string;
  exitCode: number;
  /** Who sent it (the SSH login). */
  user: string;
  /** It came wrapped in `sudo -n -- bash -c`. */
  sudo: boolean;
  /** When the command arrived. */
  at: Date;
}

interface RunningHost {
  id: string;
  booted: BootedHost;
  dir: string;
  fs: HostFs;
  state: HostStateFile;
  port: number;
  tcp: TcpServer;
  sockets: Set<Socket>;
}

const KILLED = 137;

function authenticate(host: BootedHost, state: HostState, ctx: AuthContext): void {
  if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
  const offered = ctx.key;
  const key = keysFor(host, state, ctx.username).find((k) => k.type === offered.algo && k.getPublicSSH().equals(offered.data));
  if (!key) return ctx.reject(['publickey']);
  // No signature: the client only asks whether this key would do (SSH_MSG_USERAUTH_PK_OK).
  if (!ctx.signature || !ctx.blob) return ctx.accept();
  if (key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
  ctx.accept();
}

/** What Debian 12 with the mail stack installed takes on disk (measured on the real-host image: about 2.5 GB). */
const SYSTEM_BYTES = 2_500_000_000;

export class SshHostEmulator {
  private readonly opts: SshHostEmulatorOptions;
  private readonly hosts = new Map<string, Promise<RunningHost>>();
  private readonly history = new Map<string, RecordedCommand[]>();
  private readonly sftpHistory = new Map<string, SftpRequest[]>();
  private readonly behaviours = new Map<string, HostBehaviour>();
  private defaultBehaviour: HostBehaviour;
  private stopped = false;
  /**
   * The network each host sits on (addresses, outbound SMTP), set by whoever composes the
   * sandbox from the Scaleway emulator; null: hosts answer network probes as unknown commands.
   */
  network: ((hostId: string) => { addresses: string[]; outboundSmtpOpen: boolean; diskBytes?: number }) | null = null;
  /** Bytes in use on each host's root file system (tests fill a disk); default: an installed system. */
  private readonly diskUsed = new Map<string, number>();

  /** Tests: the host's root file system now holds `bytes` (mail arrived). */
  setDiskUsed(hostId: string, bytes: number): void {
    this.diskUsed.set(hostId, bytes);
  }

  constructor(opts: SshHostEmulatorOptions) {
    this.opts = opts;
    this.defaultBehaviour = { ...opts.defaultBehaviour };
  }

  /** Where to reach the server at `address`; boots it on first use. Throws when nothing runs there. */
  async endpointFor(address: string): Promise<{ host: '127.0.0.1'; port: number }> {
    if (this.stopped) throw new Error('SSH emulator stopped');
    const spec = this.opts.resolveHost(address);
    if (!spec) throw new Error(`no running server at ${address}: connection refused`);
    let host = this.hosts.get(spec.id);
    if (!host) {
      // Stored before awaiting, so concurrent callers share one boot.
      host = this.boot(spec);
      this.hosts.set(spec.id, host);
      host.catch(() => this.hosts.delete(spec.id));
    }
    return { host: '127.0.0.1', port: (await host).port };
  }

  commands(hostId: string): RecordedCommand[] {
    return [...(this.history.get(hostId) ?? [])];
  }

  sftpRequests(hostId: string): SftpRequest[] {
    return [...(this.sftpHistory.get(hostId) ?? [])];
  }

  async file(hostId: string, path: string): Promise<{ content: Buffer; mode: number } | null> {
    return new HostFs(this.fsRoot(hostId)).read(path);
  }

  /** Tests: a file changed on the host behind mailplane's back (someone edited it by hand). */
  async editFile(hostId: string, path: string, edit: (content: string) => string): Promise<void> {
    const fs = new HostFs(this.fsRoot(hostId));
    const current = await fs.read(path);
    if (!current) throw new Error(`${path}: no such file on host ${hostId}`);
    await writeFile(fs.localPath(path), edit(current.content.toString('utf8')), { mode: current.mode });
  }

  /** Tests: a file the system itself writes (unattended-upgrades leaving /run/reboot-required). */
  async putFile(hostId: string, path: string, content: string): Promise<void> {
    const local = new HostFs(this.fsRoot(hostId)).localPath(path);
    await mkdir(dirname(local), { recursive: true });
    await writeFile(local, content, { mode: 0o644 });
  }

  async state(hostId: string): Promise<HostState> {
    const running = this.hosts.get(hostId);
    if (running) return (await running).state.get();
    return (await HostStateFile.load(this.hostDir(hostId))).get();
  }

  /** Replaces the host's behaviour; takes effect for the next command. */
  setBehaviour(hostId: string, behaviour: HostBehaviour): void {
    this.behaviours.set(hostId, { ...behaviour });
  }

  /** Replaces the behaviour of every host that has none of its own; takes effect for the next command. */
  setDefaultBehaviour(behaviour: HostBehaviour): void {
    this.defaultBehaviour = { ...behaviour };
  }

  /**
   * The instance is gone, and its disk with it: the listener closes and the host's files
   * (uploaded configs with the DKIM and TLS private keys, mailbox names, state) are deleted.
   */
  async removeHost(hostId: string): Promise<void> {
    const running = this.hosts.get(hostId);
    this.hosts.delete(hostId);
    this.behaviours.delete(hostId);
    const host = await running?.catch(() => null);
    if (host) {
      const closed = new Promise<void>((resolve) => host.tcp.close(() => resolve()));
      for (const socket of host.sockets) socket.destroy();
      await closed;
    }
    await rm(this.hostDir(hostId), { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const hosts = await Promise.allSettled([...this.hosts.values()]);
    this.hosts.clear();
    await Promise.all(
      hosts.map(async (h) => {
        if (h.status !== 'fulfilled') return;
        const closed = new Promise<void>((resolve) => h.value.tcp.close(() => resolve()));
        // Dropping the sockets ends every channel, which cancels delayed commands.
        for (const socket of h.value.sockets) socket.destroy();
        await closed;
      }),
    );
  }

  private hostDir(hostId: string): string {
    // Provider ids are UUIDs; anything that could step out of rootDir is refused.
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(hostId)) throw new Error(`unusable host id ${JSON.stringify(hostId)}`);
    return join(this.opts.rootDir, hostId);
  }

  private fsRoot(hostId: string): string {
    return join(this.hostDir(hostId), 'fs');
  }

  private async boot(spec: EmulatedHostSpec): Promise<RunningHost> {
    const booted = bootFromCloudInit(spec);
    const dir = this.hostDir(spec.id);
    const fs = new HostFs(this.fsRoot(spec.id));
    await mkdir(fs.root, { recursive: true });
    const state = await HostStateFile.load(dir);
    const ssh = new ssh2.Server({ hostKeys: [{ key: booted.hostKey, passphrase: '' }] });
    const sockets = new Set<Socket>();
    // Our own TCP listener feeding ssh2 (injectSocket): stop() can then drop connections still in the handshake.
    const tcp = createServer((socket) => {
      sockets.add(socket);
      // SSH is chatty (channel open, exec, EOF, exit, close): with Nagle each exchange waits on a delayed ACK.
      socket.setNoDelay(true);
      socket.once('close', () => sockets.delete(socket));
      ssh.injectSocket(socket);
    });
    const host: RunningHost = { id: spec.id, booted, dir, fs, state, port: 0, tcp, sockets };
    ssh.on('connection', (client) => this.serveClient(host, client));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, '127.0.0.1', () => resolve());
    });
    host.port = (tcp.address() as AddressInfo).port;
    if (this.stopped) {
      tcp.close();
      throw new Error('SSH emulator stopped');
    }
    return host;
  }

  private serveClient(host: RunningHost, client: Connection): void {
    // A client that resets or times out is ordinary; it must not become an unhandled 'error'.
    client.on('error', () => {});
    let user = '';
    client.on('authentication', (ctx) => {
      user = ctx.username;
      authenticate(host.booted, host.state.get(), ctx);
    });
    client.on('ready', () => {
      client.on('session', (accept) => this.serveSession(host, accept(), user));
    });
  }

  private serveSession(host: RunningHost, session: Session, user: string): void {
    const abort = new AbortController();
    session.on('exec', (accept, _reject, info) => {
      void this.exec(host, accept(), info.command, user, abort.signal);
    });
    // Any signal ends the command (the adapter sends KILL on timeout).
    session.on('signal', (accept, _reject) => {
      abort.abort();
      accept?.();
    });
    session.on('sftp', (accept, reject) => {
      // sshd runs the sftp-server under sudo (deploy-user.sh): an account without a sudo rule gets none.
      if (!hasSudo(host.booted, host.state.get(), user)) return void reject();
      const sftp = accept();
      advertisePosixRename(sftp);
      const log = this.listFor(this.sftpHistory, host.id);
      serveSftp(sftp, host.fs, (req) => log.push(req));
    });
  }

  private async exec(host: RunningHost, channel: ServerChannel, command: string, user: string, killed: AbortSignal): Promise<void> {
    const at = new Date();
    const privilege = privilegeOf(host.booted, host.state.get(), user, command);
    const sudo = unwrapSudo(command.trim()) !== null;
    const ran = 'command' in privilege ? privilege.command : command;
    const record = (stdin: string, exitCode: number) => this.listFor(this.history, host.id).push({ command: ran, stdin, exitCode, user, sudo, at });
    let open = true;
    const ended = new AbortController();
    const end = () => {
      open = false;
      ended.abort();
    };
    channel.once('close', end);
    killed.addEventListener('abort', end, { once: true });

    // The command answers once its stdin is complete, as a script reading stdin would.
    const chunks: Buffer[] = [];
    channel.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise<void>((resolve) => {
      channel.once('end', resolve);
      ended.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    const stdin = Buffer.concat(chunks).toString('utf8');

    if ('refused' in privilege) {
      if (open) channel.stderr.write(privilege.refused);
      record(stdin, 1);
      if (open) {
        channel.exit(1);
        channel.end();
      }
      return;
    }
    const behaviour = this.behaviours.get(host.id) ?? this.defaultBehaviour;
    const delayMs = commandDelayMs(privilege.command, behaviour);
    if (open && delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        ended.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
    if (!open) return void record(stdin, KILLED);

    const ctx: ScriptContext = {
      fqdn: host.booted.fqdn,
      fs: host.fs,
      hostDir: host.dir,
      state: host.state,
      stdin,
      uid: privilege.uid,
      ...(this.network ? { network: this.network(host.id) } : {}),
      diskUsedBytes: this.diskUsed.get(host.id) ?? SYSTEM_BYTES,
      stdout: (text) => {
        if (open && text) channel.write(text);
      },
      stderr: (text) => {
        if (open && text) channel.stderr.write(text);
      },
    };
    let exitCode: number;
    try {
      exitCode = await runCommand(privilege.command, ctx, behaviour);
    } catch (err) {
      // An emulator bug shows up as a failing command with the reason, not as a hung channel.
      ctx.stderr(`sandbox: ${err instanceof Error ? err.message : String(err)}\n`);
      exitCode = 1;
    }
    if (!open) return void record(stdin, KILLED);
    record(stdin, exitCode);
    channel.exit(exitCode);
    channel.end();
  }

  private listFor<T>(map: Map<string, T[]>, hostId: string): T[] {
    let list = map.get(hostId);
    if (!list) {
      list = [];
      map.set(hostId, list);
    }
    return list;
  }
}
