/**
 * Atomic file upload over SFTP: write to a temporary name in the target's
 * directory, set the mode, then rename over the target. A reader (or a crash
 * half-way) never sees a partial file, and a secret is never readable with a
 * wider mode than asked for, even for an instant.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { SFTPWrapper, Stats } from 'ssh2';
import type { UploadFile } from './interface.ts';

const CHUNK = 32 * 1024;

function call<T = void>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

async function statOrNull(sftp: SFTPWrapper, path: string): Promise<Stats | null> {
  try {
    return await call<Stats>((cb) => sftp.stat(path, cb));
  } catch {
    return null;
  }
}

/** `mkdir -p` over SFTP. */
export async function mkdirp(sftp: SFTPWrapper, dir: string): Promise<void> {
  const existing = await statOrNull(sftp, dir);
  if (existing) {
    if (!existing.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
    return;
  }
  const parent = posix.dirname(dir);
  if (parent !== dir) await mkdirp(sftp, parent);
  try {
    await call((cb) => sftp.mkdir(dir, { mode: 0o755 }, cb));
  } catch (err) {
    // Lost a race with another writer: fine if it is a directory now.
    if (!(await statOrNull(sftp, dir))?.isDirectory()) throw err;
  }
}

async function writeAll(sftp: SFTPWrapper, path: string, data: Buffer, mode: number): Promise<void> {
  // Created with the final mode (the server's umask can only narrow it); chmod'ed below anyway.
  const handle = await call<Buffer>((cb) => sftp.open(path, 'wx', { mode }, cb));
  try {
    for (let off = 0; off < data.length; off += CHUNK) {
      const len = Math.min(CHUNK, data.length - off);
      await call((cb) => sftp.write(handle, data, off, len, off, cb));
    }
  } finally {
    await call((cb) => sftp.close(handle, cb));
  }
}

async function renameOver(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
  let posixRename = true;
  try {
    // OpenSSH's plain SFTP rename refuses to replace an existing file; its extension does it atomically.
    await call((cb) => sftp.ext_openssh_rename(from, to, cb));
    return;
  } catch (err) {
    if (!(err instanceof Error && /does not support/.test(err.message))) throw err;
    posixRename = false;
  }
  if (!posixRename) {
    try {
      await call((cb) => sftp.rename(from, to, cb));
    } catch (err) {
      // Servers without posix-rename and with v3 rename semantics: replace non-atomically as a last resort.
      if (!(await statOrNull(sftp, to))) throw err;
      await call((cb) => sftp.unlink(to, cb));
      await call((cb) => sftp.rename(from, to, cb));
    }
  }
}

export async function uploadAtomically(sftp: SFTPWrapper, file: UploadFile): Promise<void> {
  if (!posix.isAbsolute(file.path) || file.path.includes('\0') || file.path.endsWith('/')) {
    throw new Error(`upload path must be an absolute file path: ${JSON.stringify(file.path)}`);
  }
  const dir = posix.dirname(file.path);
  const tmp = posix.join(dir, `.${posix.basename(file.path)}.${randomBytes(6).toString('hex')}.tmp`);
  const data = typeof file.content === 'string' ? Buffer.from(file.content, 'utf8') : file.content;
  try {
    await mkdirp(sftp, dir);
    await writeAll(sftp, tmp, data, file.mode);
    await call((cb) => sftp.chmod(tmp, file.mode, cb));
    await renameOver(sftp, tmp, file.path);
  } catch (err) {
    await call((cb) => sftp.unlink(tmp, cb)).catch(() => {});
    throw new Error(`upload of ${file.path} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
