/** Runs a host program (ip, mount, systemd-nspawn, …) and fails with its stderr, never through a shell. */
import { execFile } from 'node:child_process';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export function run(file: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const detail = String(stderr).trim().split('\n').slice(-5).join(' | ');
        reject(new Error(`${file} ${args.join(' ')}: ${detail || err.message}`));
      } else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like run(), but a failure is ignored (teardown of something that may already be gone). */
export async function tryRun(file: string, args: readonly string[]): Promise<boolean> {
  try {
    await run(file, args);
    return true;
  } catch {
    return false;
  }
}
