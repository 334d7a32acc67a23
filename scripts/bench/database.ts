/**
 * One embedded PostgreSQL for the whole benchmark, one database per scenario
 * (each scenario's product migrates its own). The data lives in a temporary
 * directory removed at the end.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';

export interface BenchDatabase {
  /** Creates `name` (if missing) and returns its URL. */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startBenchDatabase(): Promise<BenchDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailplane-bench-pg-'));
  // mkdtemp makes a 0700 folder; as root, PostgreSQL runs as `postgres` and must traverse it.
  await chmod(dataDir, 0o755);
  let server: EmbeddedPostgres | null = null;
  try {
    server = await startEmbeddedPostgres({ dataDir, database: 'bench' });
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
