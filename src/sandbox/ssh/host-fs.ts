/**
 * An emulated host's file system: a directory on the local disk standing for
 * "/". Remote paths are normalised as absolute POSIX paths before they are
 * joined, so ".." can never climb out of the host's directory.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';

export class HostFs {
  readonly root: string;
  private readonly home: string;

  constructor(root: string, home = '/root') {
    this.root = root;
    this.home = home;
  }

  /** The remote absolute path for what a client sent (relative paths start in the user's home, as with sshd). */
  remotePath(path: string): string {
    return posix.normalize(posix.isAbsolute(path) ? path : posix.join(this.home, path));
  }

  /** Where a remote path lives on the local disk. */
  localPath(path: string): string {
    // normalize('/../../x') is '/x': the join stays under root.
    return join(this.root, ...this.remotePath(path).split('/').filter(Boolean));
  }

  async read(path: string): Promise<{ content: Buffer; mode: number } | null> {
    const local = this.localPath(path);
    try {
      const info = await stat(local);
      if (!info.isFile()) return null;
      return { content: await readFile(local), mode: info.mode & 0o7777 };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async exists(path: string): Promise<boolean> {
    return (await this.read(path)) !== null;
  }
}
