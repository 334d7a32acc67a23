/** The database handle handed to everything that needs it (no module singleton). */
import postgres from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
/**
 * The pool's handle. Its `$client`, which a transaction lacks, keeps a transaction from passing for
 * it: code that may run inside a transaction takes DbOrTx (or Tx, when it must: an enqueue that
 * has to commit with the caller's writes).
 */
export type Db = PostgresJsDatabase<Schema> & { $client: postgres.Sql };
/** A transaction handle has the same query surface as the database. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | Tx;

export interface Database {
  db: Db;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export function openDatabase(url: string, opts: { max?: number } = {}): Database {
  const sql = postgres(url, { max: opts.max ?? 20, onnotice: () => {}, connection: { application_name: 'mailplane' } });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
