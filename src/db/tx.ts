/**
 * A transaction that exposes both the drizzle handle and the raw postgres.js
 * transaction, so pg-boss can enqueue a job on the same connection and the job
 * commits (or not) with the state change.
 */
import { drizzle } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import type { Database, Db } from './client.ts';
import * as schema from './schema/index.ts';

export type RawTx = postgres.TransactionSql;

export async function inTransaction<T>(database: Database, fn: (tx: Db, raw: RawTx) => Promise<T>): Promise<T> {
  return (await database.sql.begin((raw) => fn(drizzle(raw as unknown as postgres.Sql, { schema }), raw))) as T;
}
