/**
 * One embedded PostgreSQL for the whole benchmark, one database per scenario
 * (each scenario's product migrates its own). The data lives in a temporary
 * directory removed at the end.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';

export interface BenchDatabase {
  /** Creates `name` (if missing) and returns its URL. */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `statements`: PostgreSQL counts every statement it runs (pg_stat_statements, shipped with the
 * embedded server but loadable only at start), so a benchmark counts what reaches the server from
 * every client (the product's pool and pg-boss's own) instead of wrapping one of them.
 */
export async function startBenchDatabase(opts: { statements?: boolean } = {}): Promise<BenchDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailplane-bench-pg-'));
  // mkdtemp makes a 0700 folder; as root, PostgreSQL runs as `postgres` and must traverse it.
  await chmod(dataDir, 0o755);
  let server: EmbeddedPostgres | null = null;
  try {
    server = await startEmbeddedPostgres({ dataDir, database: 'bench' });
    if (opts.statements) {
      const admin = postgres(server.url, { max: 1, onnotice: () => {} });
      await admin`alter system set shared_preload_libraries = 'pg_stat_statements'`;
      await admin`alter system set pg_stat_statements.max = 10000`;
      await admin.end();
      await server.stop();
      server = await startEmbeddedPostgres({ dataDir, database: 'bench' });
    }
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    // A second call on the same data dir finds the running server (postmaster.pid) and only creates the database.
    database: async (name) => (await startEmbeddedPostgres({ dataDir, database: name })).url,
    stop: async () => {
      await server?.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
