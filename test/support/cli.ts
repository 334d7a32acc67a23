/** Runs the `mailplane` bin as a user would: a child process with only the environment given. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAILPLANE_BIN = fileURLToPath(new URL('../../bin/mailplane.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `env` is the whole environment besides PATH and HOME: nothing of the test runner leaks in.
 * A run that has not exited after `timeoutMs` is killed and reported with what it printed
 * (code null), so a hang fails with the child's own output instead of a bare test timeout.
 */
export function runMailplane(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAILPLANE_BIN, ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[mailplane ${args.join(' ')}: no exit after ${timeoutMs} ms, killed; its stdout ended with:]\n${stdout.slice(-2000)}`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
