/** A fresh database per test file, cloned from the migrated template. */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client.ts';

export interface TestDatabase extends Database {
  url: string;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    // Serialised: PostgreSQL refuses to clone a template that another clone is reading.
    await admin`select pg_advisory_lock(4242)`;
    await admin.unsafe(`create database "${name}" template "${inject('pgTemplate')}"`);
    await admin`select pg_advisory_unlock(4242)`;
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = openDatabase(url.toString(), { max: 10 });
  return { ...database, url: url.toString() };
}
