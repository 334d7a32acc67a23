/**
 * One embedded PostgreSQL for the whole test run, in a fresh temp dir. The
 * migrations are applied once to a template database; each test file clones
 * it (CREATE DATABASE … TEMPLATE) so files are isolated and run in parallel.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { runMigrations } from '../src/db/migrate.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'mailplane-test-'));
  await chmod(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: dir, database: 'mailplane_template' });
  await runMigrations(pg.url);
  const url = new URL(pg.url);
  url.pathname = '/postgres';
  // The template must have no open connections when it is cloned.
  const admin = postgres(url.toString(), { max: 1, onnotice: () => {} });
  await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = 'mailplane_template' and pid <> pg_backend_pid()`;
  await admin.end();
  project.provide('pgAdminUrl', url.toString());
  project.provide('pgTemplate', 'mailplane_template');
  return async () => {
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
