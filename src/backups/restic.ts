/**
 * restic on the control plane, with the admin credential of one repository:
 * retention (forget --prune), `check` and the restores of drills. The secrets go
 * to the child process's environment only, never to its arguments (visible in
 * `ps`) or to a log line.
 */
import { spawn } from 'node:child_process';
import { AppError } from '../errors.ts';

export interface ResticTarget {
  repository: string;
  password: string;
  /** S3 credential; absent for a local repository (tests). */
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
}

export class ResticError extends AppError {
  readonly exitCode: number | null;
  constructor(command: string, exitCode: number | null, stderr: string) {
    super({
      code: 'restic_failed',
      status: 502,
      title: 'restic failed',
      detail: `restic ${command} exited ${exitCode}: ${stderr.trim().split('\n').slice(-8).join('\n').slice(-1500)}`,
      // Exit 1 covers storage outages as well as real damage: whoever called decides what a failure means.
      retryable: false,
    });
    this.exitCode = exitCode;
  }
}

export interface ResticOptions {
  /** Path of the restic binary (Debian's `restic`). */
  binary?: string;
  signal?: AbortSignal;
}

function env(target: ResticTarget): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/tmp',
    RESTIC_REPOSITORY: target.repository,
    RESTIC_PASSWORD: target.password,
    ...(target.accessKeyId ? { AWS_ACCESS_KEY_ID: target.accessKeyId, AWS_SECRET_ACCESS_KEY: target.secretAccessKey ?? '' } : {}),
    ...(target.region ? { AWS_DEFAULT_REGION: target.region } : {}),
  };
}

export async function restic(target: ResticTarget, args: readonly string[], opts: ResticOptions = {}): Promise<string> {
  // No local cache: a drill runs once per week per server; a cache would only be one more copy of the mail here.
  const child = spawn(opts.binary ?? 'restic', ['--no-cache', ...args], {
    env: env(target),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr = (stderr + c).slice(-20_000);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new ResticError(args[0] ?? '', code, stderr);
  return stdout;
}

export interface RetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
}

export const forgetAndPrune = (target: ResticTarget, keep: RetentionPolicy, opts?: ResticOptions) =>
  restic(target, ['forget', '--prune', '--keep-daily', String(keep.daily), '--keep-weekly', String(keep.weekly), '--keep-monthly', String(keep.monthly)], opts);

/**
 * `check` verifies the structure; `subset` ("n/7") also reads and verifies that part of
 * the packs (plain `check` reads only the index and would miss a damaged pack). Run
 * daily with the day's seventh, every pack is read once a week; absent, every pack.
 */
export const checkRepository = (target: ResticTarget, opts: ResticOptions & { subset?: string } = {}) =>
  restic(target, ['check', ...(opts.subset ? ['--read-data-subset', opts.subset] : ['--read-data'])], opts);

export const restoreSnapshot = (target: ResticTarget, snapshotId: string, into: string, include: string[], opts?: ResticOptions) =>
  restic(target, ['restore', snapshotId, '--target', into, ...include.flatMap((p) => ['--include', p])], opts);

export interface ResticStream {
  /** restic's stdout, ended when restic has exited. */
  stdout: NodeJS.ReadableStream;
  /** Resolves with the exit code; rejects if restic could not start. */
  exited: Promise<number | null>;
  /** restic's last words on stderr, for an error message. */
  stderr(): string;
  kill(): void;
}

/** restic with its output streamed rather than collected (`dump` of a whole Maildir is as large as the mail). */
export function resticStream(target: ResticTarget, args: readonly string[], opts: ResticOptions = {}): ResticStream {
  const child = spawn(opts.binary ?? 'restic', ['--no-cache', ...args], { env: env(target), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr = (stderr + c).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  return {
    stdout: child.stdout,
    exited,
    stderr: () => stderr,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
