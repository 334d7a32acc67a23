/**
 * The provisioning engine's transaction: a drizzle handle and the raw postgres.js transaction under
 * it, on one connection. Only the engine uses it: its step path runs prepared tagged-template
 * statements on the raw handle (pipelined, one round trip each; drizzle's `execute` prepares
 * nothing) beside drizzle queries, and enqueues on the raw handle too (JobQueue keeps that prepared).
 * Everything else uses drizzle's own `db.transaction`, and the queue joins it through pg-boss's
 * `fromDrizzle` (src/jobs/queue.ts).
 */
import { drizzle } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import type { Database, Db } from '../src/db/client.ts';
import * as schema from '../src/db/schema/index.ts';

export type RawTx = postgres.TransactionSql;

export async function inTransaction<T>(database: Database, fn: (tx: Db, raw: RawTx) => Promise<T>): Promise<T> {
  return (await database.sql.begin((raw) => {
    // drizzle reads the client's parser/serializer options, which a postgres.js transaction
    // handle does not carry: lend it the pool's (drizzle already adjusted those when it wrapped the pool).
    const client = Object.assign(raw, { options: database.sql.options }) as unknown as postgres.Sql;
    return fn(drizzle(client, { schema }), raw);
  })) as T;
}

/**
 * inTransaction with BEGIN pipelined: on a reserved connection BEGIN is sent without waiting for its
 * answer, so it travels with the transaction's first statements (one round trip for both instead
 * of two). A statement that fails aborts the transaction as usual; it is rolled back and the
 * connection given back. The step's success, on the critical path of every step, uses it.
 */
export async function inPipelinedTransaction<T>(database: Database, fn: (tx: Db, raw: RawTx) => Promise<T>): Promise<T> {
  const conn = await database.sql.reserve();
  try {
    // Executed now (postgres.js runs a query once it is awaited or then'd); its failure surfaces below.
    const begun = conn.unsafe('begin').then(
      () => null,
      (err: unknown) => ({ err }),
    );
    const client = Object.assign(conn, { options: database.sql.options }) as unknown as postgres.Sql;
    let result: T;
    try {
      result = await fn(drizzle(client, { schema }), conn as unknown as RawTx);
      const failedBegin = await begun;
      if (failedBegin) throw failedBegin.err;
      await conn.unsafe('commit');
    } catch (err) {
      await conn.unsafe('rollback').catch(() => {});
      throw err;
    }
    return result;
  } finally {
    conn.release();
  }
}
