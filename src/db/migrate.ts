/**
 * Applies the committed SQL migrations. Several processes may start at once
 * against one database, so the run is serialised with an advisory lock.
 */
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export async function runMigrations(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(hashtext('mailplane:migrate'))`;
    await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_DIR });
  } finally {
    await sql`select pg_advisory_unlock(hashtext('mailplane:migrate'))`.catch(() => {});
    await sql.end({ timeout: 5 });
  }
}
