/**
 * Remote host access over SSH with a pinned host key. There is no
 * trust-on-first-use: the fingerprint comes from the key mailplane generated
 * and injected through cloud-init, and anything else is refused.
 */
import { AppError } from '../../errors.ts';

export interface SshTarget {
  host: string;
  port: number;
  /**
   * Who logs in. A session's commands and uploads run as root either way: logged in as root
   * directly; as anyone else through sudo (exec: `sudo -n`; SFTP: the host's sshd runs its
   * sftp-server under sudo), so a user without a sudo rule gets its commands refused.
   */
  username: string;
  /** OpenSSH or PEM private key of mailplane's per-server deploy key. */
  privateKey: string;
  /** Pinned host key fingerprint, "SHA256:<base64 without padding>". */
  hostKeyFingerprint: string;
  /** Connection timeout (ms). */
  readyTimeoutMs?: number;
}

export interface ExecOptions {
  stdin?: string;
  /** Streamed output as it arrives (step logs). */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  timeoutMs?: number;
  /** Reject on non-zero exit (default true). */
  check?: boolean;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface UploadFile {
  /** Absolute path on the remote host. */
  path: string;
  content: string | Buffer;
  /** e.g. 0o600 */
  mode: number;
}

export interface RemoteSession {
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  upload(files: UploadFile[]): Promise<void>;
  close(): Promise<void>;
}

export interface RemoteHostProvider {
  connect(target: SshTarget): Promise<RemoteSession>;
}

/** Host did not answer or the connection dropped: try again later. */
export class SshUnreachableError extends AppError {
  constructor(detail: string, cause?: unknown) {
    super({ code: 'ssh_unreachable', status: 502, title: 'Host unreachable over SSH', detail, retryable: true, cause });
  }
}

/** The host presented a key other than the pinned one. Never retried: it may be an attack. */
export class SshHostKeyMismatchError extends AppError {
  constructor(expected: string, got: string) {
    super({
      code: 'ssh_host_key_mismatch',
      status: 502,
      title: 'SSH host key mismatch',
      detail: `expected ${expected}, host presented ${got}`,
      retryable: false,
    });
  }
}

/** Authentication was refused. */
export class SshAuthRefusedError extends AppError {
  constructor(detail: string, cause?: unknown) {
    super({ code: 'ssh_auth_refused', status: 502, title: 'SSH authentication refused', detail, retryable: false, cause });
  }
}

/**
 * A script's way of saying "a transient failure outlasted my own retries" (the package
 * mirror, the dpkg lock, the network): sysexits' EX_TEMPFAIL. The step retries it;
 * any other non-zero exit is a defect and fails the step.
 */
export const EXIT_TEMPFAIL = 75;

/** The command ran and exited non-zero. */
export class RemoteCommandError extends AppError {
  readonly exitCode: number;
  readonly stderr: string;
  constructor(command: string, exitCode: number, stderr: string, stdout = '') {
    const tail = `${stdout.trim().split('\n').slice(-15).join('\n')}\n${stderr.trim()}`.trim().slice(-1500);
    super({
      code: 'remote_command_failed',
      status: 502,
      title: 'Remote command failed',
      detail: `${command.split('\n')[0]!.slice(0, 120)} exited ${exitCode}: ${tail}`,
      retryable: exitCode === EXIT_TEMPFAIL,
    });
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** The command outlived its timeout and was killed. Retryable: the scripts are idempotent. */
export class RemoteCommandTimeoutError extends AppError {
  constructor(command: string, timeoutMs: number) {
    super({
      code: 'remote_command_timeout',
      status: 504,
      title: 'Remote command timed out',
      detail: `${command.split('\n')[0]!.slice(0, 120)} did not finish within ${timeoutMs} ms`,
      retryable: true,
    });
  }
}
