/**
 * The embedded PostgreSQL keeps its data under MAILPLANE_DATA_DIR across a
 * stop and a start, and a second start while it runs reuses the running
 * server (what the CLI does while `npm start` is up).
 */
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../../src/db/embedded.ts';

const started: EmbeddedPostgres[] = [];
let dir: string | undefined;
afterAll(async () => {
  for (const pg of started) await pg.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function query<T extends Record<string, unknown>>(url: string, fn: (sql: postgres.Sql) => Promise<T[]>): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

describe('embedded PostgreSQL', () => {
  it('keeps data across a stop and a start, and reuses a running server instead of starting a second one', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mailplane-embedded-'));
    // Traversable by the postgres user when the tests run as root.
    await chmod(dir, 0o755);

    const first = await startEmbeddedPostgres({ dataDir: dir, database: 'persist' });
    started.push(first);
    expect(first.owned).toBe(true);
    expect(new URL(first.url).hostname).toBe('127.0.0.1');
    await query(first.url, (sql) => sql`create table notes (body text not null)`);
    await query(first.url, (sql) => sql`insert into notes values ('kept across restarts')`);
    expect((await stat(join(dir, 'postgres.password'))).mode & 0o777).toBe(0o600);

    const second = await startEmbeddedPostgres({ dataDir: dir, database: 'persist' });
    expect(second.owned).toBe(false);
    expect(second.url).toBe(first.url);
    // Stopping a borrowed server leaves it running for its owner.
    await second.stop();
    expect(await query(first.url, (sql) => sql`select body from notes`)).toEqual([{ body: 'kept across restarts' }]);

    await first.stop();
    await expect(query(first.url, (sql) => sql`select 1`)).rejects.toThrow();

    const third = await startEmbeddedPostgres({ dataDir: dir, database: 'persist' });
    started.push(third);
    expect(third.owned).toBe(true);
    expect(await query(third.url, (sql) => sql`select body from notes`)).toEqual([{ body: 'kept across restarts' }]);
    await third.stop();
  });
});
