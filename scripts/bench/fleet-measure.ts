/**
 * What the fleet benchmark reads from PostgreSQL around the simulated hour: row counts of the tables
 * that grow with the fleet, the statements PostgreSQL ran (pg_stat_statements), and, from pg-boss's
 * job rows, how many runs of each kind every server had and how long jobs waited for a slot.
 */
import type postgres from 'postgres';

/** Tables that grow with the fleet's periodic work (history, logs, queue rows). */
export const GROWING_TABLES = [
  'blacklist_checks',
  'server_checks',
  'audit_log',
  'alerts',
  'alert_deliveries',
  'server_notices',
  'sandbox_mail',
  'pgboss.job',
] as const;

export async function countRows(sql: postgres.Sql): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of GROWING_TABLES) {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(table)}`;
    out[table] = row!.n;
  }
  return out;
}

export async function resetStatements(sql: postgres.Sql): Promise<void> {
  await sql`create extension if not exists pg_stat_statements`;
  await sql`select pg_stat_statements_reset()`;
}

export interface StatementFigures {
  total: number;
  /** The statements that took the most time, for finding a scan. */
  top: { query: string; calls: number; totalMs: number; meanMs: number; rowsPerCall: number }[];
}

export async function readStatements(sql: postgres.Sql): Promise<StatementFigures> {
  const rows = await sql<{ query: string; calls: string; total: number; rows: string }[]>`
    select s.query, s.calls, s.total_exec_time as total, s.rows from pg_stat_statements s
    join pg_database d on d.oid = s.dbid where d.datname = current_database()`;
  const total = rows.reduce((n, r) => n + Number(r.calls), 0);
  const top = [...rows]
    .sort((a, b) => b.total - a.total)
    .slice(0, 12)
    .map((r) => ({
      query: r.query.replace(/\s+/g, ' ').slice(0, 220),
      calls: Number(r.calls),
      totalMs: Math.round(r.total),
      meanMs: Number((r.total / Number(r.calls)).toFixed(3)),
      rowsPerCall: Number((Number(r.rows) / Number(r.calls)).toFixed(1)),
    }));
  return { total, top };
}

/** Per queue: how many servers had each number of jobs in the hour (e.g. { 4: 9990, 5: 10 }). */
export async function runsPerServer(sql: postgres.Sql, since: Date, queues: readonly string[]): Promise<Record<string, Record<number, number>>> {
  const rows = await sql<{ name: string; runs: number; servers: number }[]>`
    select name, runs, count(*)::int as servers from (
      select name, data->>'serverId' as server, count(*)::int as runs from pgboss.job
      where name in ${sql(queues as string[])} and created_on >= ${since}
      group by 1, 2) per group by 1, 2`;
  const out: Record<string, Record<number, number>> = Object.fromEntries(queues.map((q) => [q, {}]));
  for (const r of rows) out[r.name]![r.runs] = r.servers;
  return out;
}

/** Per queue: jobs by final state, and how long they waited for a slot (started − created; real seconds). */
export async function jobFigures(sql: postgres.Sql, since: Date) {
  return sql<{ name: string; state: string; jobs: number; waitP50: number | null; waitMax: number | null; runP50: number | null }[]>`
    select name, state::text as state, count(*)::int as jobs,
      percentile_cont(0.5) within group (order by extract(epoch from started_on - created_on)) as "waitP50",
      max(extract(epoch from started_on - created_on))::float as "waitMax",
      percentile_cont(0.5) within group (order by extract(epoch from completed_on - started_on)) as "runP50"
    from pgboss.job where created_on >= ${since} group by 1, 2 order by 3 desc`;
}
