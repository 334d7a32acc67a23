/**
 * API: an authenticated GET /v1/workspaces/{ws}/servers/{id} against a bare
 * hello-world route registered on the same app (same process, same server,
 * same global middleware), each loaded by autocannon in a child process with
 * fixed connections for a fixed duration. Rounds alternate the two routes so
 * a change in machine load hits both alike.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type postgres from 'postgres';
import type { RouteRegistrar } from '../../src/api/app.ts';
import { profileWhile, type ProfileSummary } from './cpu-profile.ts';
import { median, round } from './stats.ts';

const run = promisify(execFile);

export const HELLO_PATH = '/bench/hello';
export const ROUND_TRIPS_PATH = '/bench/round-trips';

/**
 * The bare route (no authentication, no database, a constant body) and, for
 * scale, the same route plus `n` sequential `select 1` on the product's pool:
 * what the server route's round trips to PostgreSQL cost by themselves.
 */
export function benchRoutes(sql: postgres.Sql): RouteRegistrar[] {
  return [
    (app) => {
      app.get(HELLO_PATH, (c) => c.text('hello'));
      app.get(ROUND_TRIPS_PATH, async (c) => {
        const n = Math.min(50, Number(c.req.query('n') ?? '1') || 1);
        for (let i = 0; i < n; i++) await sql`select 1`;
        return c.text('hello');
      });
    },
  ];
}

export interface LoadFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

export interface ApiResult {
  connections: number;
  durationSeconds: number;
  rounds: number;
  server: LoadFigures;
  hello: LoadFigures;
  /** Server route requests/s divided by the hello route's (median over rounds). */
  ratio: number;
  /** SQL statements one server-route request sends through the product's pool, answered from the read cache (what the rounds measured). */
  statementsPerRequest: number;
  /** The same with the read cache cleared first: a request whose answers were evicted, or the first one. */
  statementsCold: number;
  /** The bare route plus as many `select 1` as a cold server-route request sends statements (one round, after the others). */
  roundTrips: (LoadFigures & { statements: number }) | null;
  /** An extra, profiled round of the server route (not part of the figures above). */
  profile: { requestsPerSecond: number; cpu: ProfileSummary };
}

/**
 * Counts the statements sent while `work` runs. drizzle sends every query
 * through the pool's `unsafe` (drizzle-orm/postgres-js session), looked up on
 * each call, so wrapping it there sees them all.
 */
async function countStatements(sql: postgres.Sql, work: () => Promise<void>): Promise<number> {
  const original = sql.unsafe;
  let count = 0;
  sql.unsafe = ((...args: Parameters<typeof original>) => {
    count++;
    return original.apply(sql, args);
  }) as typeof original;
  try {
    await work();
  } finally {
    sql.unsafe = original;
  }
  return count;
}

async function load(url: string, connections: number, durationSeconds: number, headers: Record<string, string>) {
  const script = fileURLToPath(new URL('./load-generator.ts', import.meta.url));
  const { stdout } = await run(process.execPath, [script, JSON.stringify({ url, connections, durationSeconds, headers })], { maxBuffer: 64 * 1024 * 1024 });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
  };
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

const combine = (rounds: LoadFigures[]): LoadFigures => ({
  requestsPerSecond: round(median(rounds.map((r) => r.requestsPerSecond)), 0),
  p50Ms: median(rounds.map((r) => r.p50Ms)),
  p99Ms: median(rounds.map((r) => r.p99Ms)),
  non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
  errors: rounds.reduce((n, r) => n + r.errors, 0),
});

export async function benchApi(
  target: { baseUrl: string; token: string; workspaceId: string; serverId: string; sql: postgres.Sql; readCache: { clear(): void } },
  opts: { connections: number; durationSeconds: number; rounds: number },
): Promise<ApiResult> {
  const serverUrl = `${target.baseUrl}/v1/workspaces/${target.workspaceId}/servers/${target.serverId}`;
  const helloUrl = `${target.baseUrl}${HELLO_PATH}`;
  const auth = { authorization: `Bearer ${target.token}` };
  // Warm-up: JIT, connection pools, prepared statements.
  await load(serverUrl, opts.connections, 2, auth);
  await load(helloUrl, opts.connections, 1, {});
  const server: LoadFigures[] = [];
  const hello: LoadFigures[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    const h = await load(helloUrl, opts.connections, opts.durationSeconds, {});
    const s = await load(serverUrl, opts.connections, opts.durationSeconds, auth);
    hello.push(h);
    server.push(s);
    ratios.push(s.requestsPerSecond / h.requestsPerSecond);
  }
  const getServer = async () => {
    const res = await fetch(serverUrl, { headers: auth });
    if (res.status !== 200) throw new Error(`GET server answered ${res.status}`);
    await res.text();
  };
  const statementsPerRequest = await countStatements(target.sql, getServer);
  target.readCache.clear();
  const statementsCold = await countStatements(target.sql, getServer);
  const roundTrips =
    statementsCold > 0
      ? { statements: statementsCold, ...(await load(`${target.baseUrl}${ROUND_TRIPS_PATH}?n=${statementsCold}`, opts.connections, opts.durationSeconds, {})) }
      : null;
  const profiled = await profileWhile(() => load(serverUrl, opts.connections, opts.durationSeconds, auth));
  return {
    ...opts,
    server: combine(server),
    hello: combine(hello),
    ratio: round(median(ratios), 3),
    statementsPerRequest,
    statementsCold,
    roundTrips,
    profile: { requestsPerSecond: round(profiled.result.requestsPerSecond, 0), cpu: profiled.profile },
  };
}
