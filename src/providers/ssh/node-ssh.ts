/**
 * RemoteHostProvider on node-ssh (ssh2 underneath). The host key is checked
 * against the fingerprint pinned at server creation before any credential is
 * sent; there is no known_hosts and no trust-on-first-use.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import {
  RemoteCommandError,
  RemoteCommandTimeoutError,
  SshAuthRefusedError,
  SshHostKeyMismatchError,
  SshUnreachableError,
  type ExecOptions,
  type ExecResult,
  type RemoteHostProvider,
  type RemoteSession,
  type SshTarget,
  type UploadFile,
} from './interface.ts';
import { uploadAtomically } from './sftp-upload.ts';

export interface SshRemoteOptions {
  log?: (line: string) => void;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** "SHA256:<b64>" → the 32 digest bytes, or null when it is not a SHA-256 fingerprint. */
function pinnedDigest(fingerprint: string): Buffer | null {
  const m = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(fingerprint.trim());
  if (!m) return null;
  const digest = Buffer.from(m[1]!, 'base64');
  return digest.length === 32 ? digest : null;
}

function fingerprintOfDigest(digest: Buffer): string {
  return `SHA256:${digest.toString('base64').replace(/=+$/, '')}`;
}

/** Maps what ssh2/node-ssh throw during connect to the provider's errors. */
export function mapConnectError(err: unknown, target: SshTarget): Error {
  const e = err as { code?: unknown; level?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const where = `${target.username}@${target.host}:${target.port}`;
  if (message.includes('All configured authentication methods failed') || e?.level === 'client-authentication') {
    return new SshAuthRefusedError(`${where}: ${message}`, err);
  }
  if (/privateKey|Cannot parse/i.test(message)) {
    return new SshAuthRefusedError(`${where}: deploy key unusable: ${message}`, err);
  }
  if (typeof e?.code === 'string' && UNREACHABLE_CODES.has(e.code)) return new SshUnreachableError(`${where}: ${message}`, err);
  if (/timed out|timeout|reset|closed|No response|socket hang up|ECONN/i.test(message)) return new SshUnreachableError(`${where}: ${message}`, err);
  // Handshake/protocol failures: retryable too (a booting sshd, a proxy hiccup); the step's attempt limit bounds it.
  return new SshUnreachableError(`${where}: ${message}`, err);
}

export function createSshRemote(opts: SshRemoteOptions = {}): RemoteHostProvider {
  const log = opts.log ?? (() => {});
  return {
    async connect(target: SshTarget): Promise<RemoteSession> {
      const expected = pinnedDigest(target.hostKeyFingerprint);
      if (!expected) throw new SshHostKeyMismatchError(target.hostKeyFingerprint, '(pinned fingerprint is not a SHA256 fingerprint)');
      let presented: string | null = null;
      const ssh = new NodeSSH();
      try {
        await ssh.connect({
          host: target.host,
          port: target.port,
          username: target.username,
          privateKey: target.privateKey,
          readyTimeout: target.readyTimeoutMs ?? 20_000,
          // A server that dies mid-command sends no FIN or RST: without keepalives the exec
          // would wait for its 30-minute timeout. Three unanswered probes 10 s apart end it,
          // as a retryable "no exit status".
          keepaliveInterval: 10_000,
          keepaliveCountMax: 3,
          // No agent, no password, no keyboard-interactive: the deploy key or nothing.
          tryKeyboard: false,
          hostVerifier: (key: Buffer) => {
            const digest = createHash('sha256').update(key).digest();
            const ok = timingSafeEqual(digest, expected);
            if (!ok) presented = fingerprintOfDigest(digest);
            return ok;
          },
        });
      } catch (err) {
        ssh.dispose();
        if (presented !== null) throw new SshHostKeyMismatchError(target.hostKeyFingerprint, presented);
        throw mapConnectError(err, target);
      }
      const connection = ssh.connection!;
      // ssh2 leaves Nagle on: every small SFTP request/exec exchange then stalls on a delayed ACK (~40 ms each).
      connection.setNoDelay(true);
      log(`ssh: connected to ${target.username}@${target.host}:${target.port} (host key ${target.hostKeyFingerprint})`);
      return new NodeSshSession(ssh, connection, target, log);
    },
  };
}

type Connection = NonNullable<NodeSSH['connection']>;

/**
 * The command as root: unchanged for root; otherwise through sudo, never prompting (-n: a
 * missing rule fails at once instead of waiting for a password), the whole command line
 * handed to bash as one argument so pipes and redirections run as root too. sudo passes
 * stdin through and resets the environment (HOME=/root, secure_path).
 */
export function asRoot(command: string, username: string): string {
  if (username === 'root') return command;
  return `sudo -n -- bash -c ${shellQuote(command)}`;
}

/** One shell word: single quotes, each ' written as '\''. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

export class NodeSshSession implements RemoteSession {
  private readonly ssh: NodeSSH;
  private readonly target: SshTarget;
  private readonly log: (line: string) => void;
  private closedError: SshUnreachableError | null = null;
  private readonly closed: Promise<never>;
  private isClosed = false;
  private readonly closedWaiters: (() => void)[] = [];

  constructor(ssh: NodeSSH, connection: Connection, target: SshTarget, log: (line: string) => void) {
    this.ssh = ssh;
    this.target = target;
    this.log = log;
    let lastError: unknown;
    let rejectClosed!: (err: Error) => void;
    this.closed = new Promise<never>((_, reject) => {
      rejectClosed = reject;
    });
    this.closed.catch(() => {});
    // Without a listener an error after 'ready' (a reset) would be an unhandled 'error' event.
    connection.on('error', (err) => {
      lastError = err;
    });
    connection.on('close', () => {
      this.isClosed = true;
      const detail = lastError instanceof Error ? lastError.message : 'connection closed';
      this.closedError = new SshUnreachableError(`${target.host}:${target.port}: ${detail}`, lastError);
      rejectClosed(this.closedError);
      for (const w of this.closedWaiters.splice(0)) w();
    });
  }

  /** Runs `op` unless the connection drops first. */
  private guarded<T>(op: Promise<T>): Promise<T> {
    if (this.closedError) {
      // `op` already started (it is the argument) and will reject too ("Not connected to server"):
      // observed here, or it is an unhandled rejection, which ends the worker process.
      op.catch(() => {});
      return Promise.reject(this.closedError);
    }
    return Promise.race([op, this.closed]);
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const emit = (chunk: Buffer, stream: 'stdout' | 'stderr') => {
      (stream === 'stdout' ? out : err).push(chunk);
      const text = decoders[stream].decode(chunk, { stream: true });
      if (text && opts.onOutput) opts.onOutput(text, stream);
    };
    let channel: ClientChannel | null = null;
    let timedOut = false;
    const kill = (ch: ClientChannel) => {
      // OpenSSH honours "signal" since 7.9; closing the channel ends the session's process group either way.
      try {
        ch.signal('KILL');
      } catch {
        /* channel already gone */
      }
      ch.close();
    };
    const timer =
      opts.timeoutMs && opts.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            if (channel) kill(channel);
          }, opts.timeoutMs)
        : null;
    let result;
    try {
      result = await this.guarded(
        this.ssh.execCommand(asRoot(command, this.target.username), {
          ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
          noTrim: true,
          onChannel: (ch) => {
            channel = ch;
            if (timedOut) kill(ch);
          },
          onStdout: (chunk) => emit(chunk, 'stdout'),
          onStderr: (chunk) => emit(chunk, 'stderr'),
        }),
      );
    } catch (e) {
      if (e instanceof SshUnreachableError) throw e;
      throw mapConnectError(e, this.target);
    } finally {
      if (timer) clearTimeout(timer);
    }
    const stdout = Buffer.concat(out).toString('utf8');
    const stderr = Buffer.concat(err).toString('utf8');
    if (timedOut) throw new RemoteCommandTimeoutError(command, opts.timeoutMs!);
    if (result.code === null) {
      // No exit status: killed by a signal or the channel was torn down.
      throw new SshUnreachableError(`${command.split('\n')[0]!.slice(0, 120)}: no exit status (signal ${result.signal ?? 'none'})`);
    }
    if (result.code !== 0 && opts.check !== false) throw new RemoteCommandError(command, result.code, stderr, stdout);
    return { code: result.code, stdout, stderr };
  }

  async upload(files: UploadFile[]): Promise<void> {
    const sftp = await this.guarded(this.ssh.requestSFTP()).catch((e: unknown) => {
      throw e instanceof SshUnreachableError ? e : mapConnectError(e, this.target);
    });
    try {
      for (const file of files) {
        await this.guarded(uploadAtomically(sftp, file));
      }
      this.log(`ssh: uploaded ${files.length} file(s) to ${this.target.host}`);
    } finally {
      sftp.end();
    }
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    const done = new Promise<void>((resolve) => this.closedWaiters.push(resolve));
    this.ssh.dispose();
    await done;
  }
}
