/**
 * The SFTP subsystem of an emulated host, on ssh2's server-side SFTP, backed
 * by the host's directory (HostFs). It covers what the SSH adapter's atomic
 * upload uses — open ('wx'/'w' with a mode), write, close, stat/lstat/fstat,
 * mkdir, setstat/fsetstat (mode, size, times), rename, posix-rename, remove —
 * plus read and realpath. Anything else is answered OP_UNSUPPORTED by ssh2.
 *
 * Rename follows OpenSSH: plain SFTP rename refuses to replace an existing
 * file; posix-rename@openssh.com replaces it atomically (rename(2)).
 */
import { chmod, mkdir, open, rename, rmdir, stat, lstat, truncate, unlink, utimes, type FileHandle } from 'node:fs/promises';
import type { Stats as FsStats } from 'node:fs';
// ssh2 is CommonJS; Node's ESM loader does not see utils as a named export.
import ssh2, { type Attributes, type SFTPWrapper } from 'ssh2';
import type { HostFs } from './host-fs.ts';

const { STATUS_CODE, flagsToString } = ssh2.utils.sftp;

/** What a test can see of the SFTP traffic: the operation and the remote path(s). */
export interface SftpRequest {
  op:
    | 'open'
    | 'write'
    | 'close'
    | 'stat'
    | 'lstat'
    | 'fstat'
    | 'mkdir'
    | 'setstat'
    | 'fsetstat'
    | 'rename'
    | 'posix-rename'
    | 'remove'
    | 'rmdir'
    | 'read'
    | 'realpath';
  path: string;
  to?: string;
}

function statusOf(err: unknown): number {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return STATUS_CODE.NO_SUCH_FILE;
    case 'EACCES':
    case 'EPERM':
      return STATUS_CODE.PERMISSION_DENIED;
    default:
      return STATUS_CODE.FAILURE;
  }
}

function attrsOf(info: FsStats): Attributes {
  // mode carries the file type bits: the client's isDirectory() reads them.
  return {
    mode: info.mode,
    uid: info.uid,
    gid: info.gid,
    size: info.size,
    atime: Math.floor(info.atimeMs / 1000),
    mtime: Math.floor(info.mtimeMs / 1000),
  };
}

/** "posix-rename@openssh.com" payload: string oldpath, string newpath. */
function parseTwoPaths(data: Buffer | undefined): [string, string] | null {
  if (!data || data.length < 8) return null;
  const oldLen = data.readUInt32BE(0);
  if (4 + oldLen + 4 > data.length) return null;
  const newLen = data.readUInt32BE(4 + oldLen);
  if (8 + oldLen + newLen > data.length) return null;
  return [data.toString('utf8', 4, 4 + oldLen), data.toString('utf8', 8 + oldLen, 8 + oldLen + newLen)];
}

async function applyAttrs(local: string, attrs: Attributes, handle?: FileHandle): Promise<void> {
  if (attrs.size !== undefined) await (handle ? handle.truncate(attrs.size) : truncate(local, attrs.size));
  if (attrs.mode !== undefined) await (handle ? handle.chmod(attrs.mode & 0o7777) : chmod(local, attrs.mode & 0o7777));
  if (attrs.atime !== undefined && attrs.mtime !== undefined) {
    await (handle ? handle.utimes(attrs.atime, attrs.mtime) : utimes(local, attrs.atime, attrs.mtime));
  }
}

export function serveSftp(sftp: SFTPWrapper, fs: HostFs, record: (req: SftpRequest) => void): void {
  const handles = new Map<string, { file: FileHandle; local: string }>();
  let nextHandle = 0;

  /** Runs one request; any thrown fs error becomes the matching SFTP status. */
  const answer = (reqId: number, op: () => Promise<void>) => {
    op().catch((err: unknown) => sftp.status(reqId, statusOf(err), err instanceof Error ? err.message : String(err)));
  };
  const handleOf = (reqId: number, handle: Buffer) => {
    const entry = handles.get(handle.toString('hex'));
    if (!entry) sftp.status(reqId, STATUS_CODE.FAILURE, 'invalid handle');
    return entry;
  };

  sftp.on('OPEN', (reqId, filename, flags, attrs) =>
    answer(reqId, async () => {
      record({ op: 'open', path: fs.remotePath(filename) });
      const mode = flagsToString(flags);
      if (!mode) return void sftp.status(reqId, STATUS_CODE.BAD_MESSAGE, 'unsupported open flags');
      const local = fs.localPath(filename);
      const file = await open(local, mode, attrs.mode !== undefined ? attrs.mode & 0o7777 : 0o644);
      const handle = Buffer.alloc(4);
      handle.writeUInt32BE(nextHandle++);
      handles.set(handle.toString('hex'), { file, local });
      sftp.handle(reqId, handle);
    }),
  );

  sftp.on('WRITE', (reqId, handle, offset, data) =>
    answer(reqId, async () => {
      const entry = handleOf(reqId, handle);
      if (!entry) return;
      await entry.file.write(data, 0, data.length, offset);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );

  sftp.on('READ', (reqId, handle, offset, length) =>
    answer(reqId, async () => {
      const entry = handleOf(reqId, handle);
      if (!entry) return;
      const buf = Buffer.alloc(length);
      const { bytesRead } = await entry.file.read(buf, 0, length, offset);
      if (bytesRead === 0) return void sftp.status(reqId, STATUS_CODE.EOF);
      sftp.data(reqId, buf.subarray(0, bytesRead));
    }),
  );

  sftp.on('CLOSE', (reqId, handle) =>
    answer(reqId, async () => {
      const entry = handleOf(reqId, handle);
      if (!entry) return;
      handles.delete(handle.toString('hex'));
      await entry.file.close();
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );

  sftp.on('FSTAT', (reqId, handle) =>
    answer(reqId, async () => {
      const entry = handleOf(reqId, handle);
      if (!entry) return;
      sftp.attrs(reqId, attrsOf(await entry.file.stat()));
    }),
  );

  sftp.on('FSETSTAT', (reqId, handle, attrs) =>
    answer(reqId, async () => {
      const entry = handleOf(reqId, handle);
      if (!entry) return;
      await applyAttrs(entry.local, attrs, entry.file);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );

  sftp.on('STAT', (reqId, path) =>
    answer(reqId, async () => {
      record({ op: 'stat', path: fs.remotePath(path) });
      sftp.attrs(reqId, attrsOf(await stat(fs.localPath(path))));
    }),
  );

  sftp.on('LSTAT', (reqId, path) =>
    answer(reqId, async () => {
      record({ op: 'lstat', path: fs.remotePath(path) });
      sftp.attrs(reqId, attrsOf(await lstat(fs.localPath(path))));
    }),
  );

  sftp.on('SETSTAT', (reqId, path, attrs) =>
    answer(reqId, async () => {
      record({ op: 'setstat', path: fs.remotePath(path) });
      await applyAttrs(fs.localPath(path), attrs);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );

  sftp.on('MKDIR', (reqId, path, attrs) =>
    answer(reqId, async () => {
      record({ op: 'mkdir', path: fs.remotePath(path) });
      await mkdir(fs.localPath(path), { mode: attrs.mode !== undefined ? attrs.mode & 0o7777 : 0o755 });
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );

  sftp.on('RENAME', (reqId, from, to) =>
    answer(reqId, async () => {
      record({ op: 'rename', path: fs.remotePath(from), to: fs.remotePath(to) });
      const target = fs.localPath(to);
      if (
        await lstat(target).then(
          () => true,
          () => false,
        )
      )
        return void sftp.status(reqId, STATUS_CODE.FAILURE, 'target exists');
      await rename(fs.localPath(from), target);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );

  sftp.on('EXTENDED', (reqId, name, data) => {
    const paths = name === 'posix-rename@openssh.com' ? parseTwoPaths(data) : null;
    if (!paths) return void sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED);
    answer(reqId, async () => {
      record({ op: 'posix-rename', path: fs.remotePath(paths[0]), to: fs.remotePath(paths[1]) });
      await rename(fs.localPath(paths[0]), fs.localPath(paths[1]));
      sftp.status(reqId, STATUS_CODE.OK);
    });
  });

  sftp.on('REMOVE', (reqId, path) =>
    answer(reqId, async () => {
      record({ op: 'remove', path: fs.remotePath(path) });
      await unlink(fs.localPath(path));
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );

  sftp.on('RMDIR', (reqId, path) =>
    answer(reqId, async () => {
      record({ op: 'rmdir', path: fs.remotePath(path) });
      await rmdir(fs.localPath(path));
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );

  sftp.on('REALPATH', (reqId, path) => {
    const remote = fs.remotePath(path);
    sftp.name(reqId, [{ filename: remote, longname: remote, attrs: {} as Attributes }]);
  });

  // A client that goes away leaves no open descriptors behind.
  sftp.on('close', () => {
    for (const { file } of handles.values()) void file.close().catch(() => {});
    handles.clear();
  });
}

const VERSION_WITHOUT_EXTENSIONS = Buffer.from([0, 0, 0, 5, 2, 0, 0, 0, 3]);

function versionAdvertisingPosixRename(): Buffer {
  const name = Buffer.from('posix-rename@openssh.com');
  const value = Buffer.from('1');
  const body = Buffer.alloc(1 + 4 + 4 + name.length + 4 + value.length);
  let p = body.writeUInt8(2, 0); // SSH_FXP_VERSION
  p = body.writeUInt32BE(3, p);
  p = body.writeUInt32BE(name.length, p);
  p += name.copy(body, p);
  p = body.writeUInt32BE(value.length, p);
  value.copy(body, p);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

type ProtocolInternals = { channelData(id: number, data: Buffer): void };
/** Per connection: SFTP channels whose VERSION packet has not gone out yet. */
const awaitingVersion = new WeakMap<ProtocolInternals, Set<number>>();

/**
 * ssh2's server side answers INIT with a fixed VERSION packet that lists no
 * extensions, so a client (ours, like OpenSSH's) would never use
 * posix-rename. This swaps that one packet, on this channel only, for one
 * advertising posix-rename@openssh.com "1" as OpenSSH's sftp-server does.
 * Must be called right after accept(), before the client's INIT arrives.
 * Relies on ssh2 1.x internals (SFTP#_protocol.channelData); if they change,
 * the client falls back to plain rename and the upload test notices.
 */
export function advertisePosixRename(sftp: SFTPWrapper): void {
  const internals = sftp as unknown as { _protocol: ProtocolInternals; outgoing: { id: number } };
  const protocol = internals._protocol;
  let pending = awaitingVersion.get(protocol);
  if (!pending) {
    pending = new Set();
    const waiting = pending;
    awaitingVersion.set(protocol, waiting);
    const original = protocol.channelData;
    const version = versionAdvertisingPosixRename();
    protocol.channelData = function channelData(id: number, data: Buffer) {
      if (waiting.has(id) && data.equals(VERSION_WITHOUT_EXTENSIONS)) {
        waiting.delete(id);
        return original.call(protocol, id, version);
      }
      return original.call(protocol, id, data);
    };
  }
  const id = internals.outgoing.id;
  pending.add(id);
  // Channel ids are reused: a channel closed before INIT must not leave its id armed.
  sftp.once('close', () => pending.delete(id));
}
