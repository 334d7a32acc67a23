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
  return (await database.sql.begin((raw) => {
    // drizzle reads the client's parser/serializer options, which a postgres.js transaction
    // handle does not carry: lend it the pool's (drizzle already adjusted those when it wrapped the pool).
    const client = Object.assign(raw, { options: database.sql.options }) as unknown as postgres.Sql;
    return fn(drizzle(client, { schema }), raw);
  })) as T;
}
