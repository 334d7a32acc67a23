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
import type { RouteRegistrar } from '../../src/api/app.ts';
import { median, round } from './stats.ts';

const run = promisify(execFile);

export const HELLO_PATH = '/bench/hello';

/** The bare route: no authentication, no database, a constant body. */
export const helloRoute: RouteRegistrar = (app) => {
  app.get(HELLO_PATH, (c) => c.text('hello'));
};

export interface LoadFigures { requestsPerSecond: number; p50Ms: number; p99Ms: number; non2xx: number; errors: number }

export interface ApiResult {
  connections: number;
  durationSeconds: number;
  rounds: number;
  server: LoadFigures;
  hello: LoadFigures;
  /** Server route requests/s divided by the hello route's (median over rounds). */
  ratio: number;
}

async function load(url: string, connections: number, durationSeconds: number, headers: Record<string, string>) {
  const script = fileURLToPath(new URL('./load-generator.ts', import.meta.url));
  const { stdout } = await run(process.execPath, [script, JSON.stringify({ url, connections, durationSeconds, headers })], { maxBuffer: 64 * 1024 * 1024 });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number;
  };
  return { requestsPerSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

const combine = (rounds: LoadFigures[]): LoadFigures => ({
  requestsPerSecond: round(median(rounds.map((r) => r.requestsPerSecond)), 0),
  p50Ms: median(rounds.map((r) => r.p50Ms)),
  p99Ms: median(rounds.map((r) => r.p99Ms)),
  non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
  errors: rounds.reduce((n, r) => n + r.errors, 0),
});

export async function benchApi(
  target: { baseUrl: string; token: string; workspaceId: string; serverId: string },
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
  return { ...opts, server: combine(server), hello: combine(hello), ratio: round(median(ratios), 3) };
}
