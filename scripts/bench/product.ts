/**
 * The product for one benchmark scenario: the API and the workers in this
 * process (one worker process, as in production), on its own database, against
 * the sandbox running in a child process with the scenario's latency profile
 * (sandbox-process.ts). Built the way src/main.ts builds it
 * (createAppContext → startWorkers → createApp); only the poll and retry
 * intervals are scaled down with the latency profile.
 */
import { serve } from '@hono/node-server';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, inArray } from 'drizzle-orm';
import { createApp, type RouteRegistrar } from '../../src/api/app.ts';
import { apiDeps, createAppContext, type AppContext } from '../../src/app-context.ts';
import { productRegistrars } from '../../src/app-routes.ts';
import type { Clock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { servers, users } from '../../src/db/schema/index.ts';
import { createLogger } from '../../src/log.ts';
import { startWorkers } from '../../src/workers.ts';
import type { ProvisioningSettings } from '../../provisioning/context.ts';
import type { LatencyProfile } from './profile.ts';
import { startRemoteSandbox, type RemoteSandbox } from './sandbox-client.ts';
import { startSmtpSink } from './smtp-sink.ts';

export const BENCH_PASSWORD = 'Plum-Harbour-Lantern-42';

export interface ProductOptions {
  databaseUrl: string;
  profile: LatencyProfile;
  settings?: Partial<ProvisioningSettings>;
  env?: Record<string, string>;
  /** Extra routes on the product's app (benchmarks' reference routes), given the built context. */
  routes?: (ctx: AppContext) => RouteRegistrar[];
  /** Real Debian machines behind the instances (the real-host figure). */
  realHosts?: { cacheDir: string; mirror: string };
  /** The product's routes beyond /v1's core (backups, checks, downloads…), as `mailplane api` serves them. */
  productRoutes?: boolean;
  /** The product's clock (the fleet benchmark's simulated minutes); the system clock otherwise. */
  clock?: Clock;
}

export interface Product {
  sandbox: RemoteSandbox;
  ctx: AppContext;
  baseUrl: string;
  /** Warnings and errors the product logged (a benchmark reports them rather than hiding them). */
  problems: string[];
  call(method: string, path: string, opts?: { token?: string; body?: unknown }): Promise<{ status: number; body: any }>;
  /** Signs up and creates a workspace. */
  customer(email: string): Promise<{ token: string; workspaceId: string }>;
  /** A Stripe checkout session for a server on `domain`, not paid yet. */
  checkout(token: string, workspaceId: string, domain: string, region?: string): Promise<string>;
  /** The customer pays: the Stripe emulator delivers checkout.session.completed → the server id. */
  pay(sessionId: string, domain: string): Promise<string>;
  /** Resolves when every server is ready or failed, or at the deadline with settled false. */
  waitForServers(ids: string[], timeoutMs: number, pollMs?: number): Promise<{ settled: boolean; statuses: Map<string, string> }>;
  close(): Promise<void>;
}

export async function startProduct(opts: ProductOptions): Promise<Product> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mailplane-bench-'));
  await chmod(dataDir, 0o755);
  const sandbox = await startRemoteSandbox(opts.profile, opts.realHosts);
  const smtp = await startSmtpSink();
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    SESSION_SECRET: 'bench-session-secret-that-is-long-enough-1234567890',
    VAULT_MASTER_KEYS: 'bench1:' + Buffer.alloc(32, 7).toString('base64'),
    DATABASE_URL: opts.databaseUrl,
    MAILPLANE_DATA_DIR: dataDir,
    MAIL_SMTP_URL: smtp.url,
    // Raised so the API benchmark measures the request path, not 429s.
    RATE_LIMIT_AUTH_PER_MINUTE: '100000',
    RATE_LIMIT_API_PER_MINUTE: '1000000000',
    ...sandbox.env,
    ...opts.env,
  };
  const config = loadConfig(env);
  const problems: string[] = [];
  const log = createLogger({
    level: 'warn',
    pretty: false,
    destination: {
      write: (line: string) => {
        problems.push(line.trim());
        if (process.env['BENCH_LOG']) process.stderr.write(line);
      },
    },
  });
  const ctx = await createAppContext(config, log, {
    worker: true,
    migrate: true,
    ...(opts.settings ? { settings: opts.settings } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  await startWorkers(ctx);
  const deps = apiDeps(ctx);
  const app = createApp(deps, [...(opts.productRoutes ? productRegistrars(ctx, deps) : []), ...(opts.routes?.(ctx) ?? [])]);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await sandbox.setWebhookUrl(`${baseUrl}/v1/webhooks/stripe`);
  const db = ctx.database.db;

  const call: Product['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = {};
    if (o.token) headers['authorization'] = `Bearer ${o.token}`;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl}${path}`, { method, headers, ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}) });
    const text = await res.text();
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body };
  };

  return {
    sandbox,
    ctx,
    baseUrl,
    problems,
    call,
    async customer(email) {
      const signup = await call('POST', '/v1/auth/signup', { body: { email, password: BENCH_PASSWORD, name: 'Bench' } });
      if (signup.status !== 202) throw new Error(`signup: ${signup.status} ${JSON.stringify(signup.body)}`);
      // Checkout needs a confirmed address; the bench measures provisioning, not the mailed link (its own tests do).
      await db.update(users).set({ emailVerifiedAt: new Date() }).where(eq(users.email, email));
      // Sign-up issues no session; the password signs in.
      const login = await call('POST', '/v1/auth/login', { body: { email, password: BENCH_PASSWORD } });
      if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
      const token = login.body.token as string;
      const ws = await call('POST', '/v1/workspaces', { token, body: { name: 'Bench mail' } });
      if (ws.status !== 201) throw new Error(`workspace: ${ws.status} ${JSON.stringify(ws.body)}`);
      return { token, workspaceId: ws.body.id };
    },
    async checkout(token, workspaceId, domain, region = 'fr-par-1') {
      const res = await call('POST', `/v1/workspaces/${workspaceId}/checkout`, { token, body: { plan: 'starter', region, domain } });
      if (res.status !== 201) throw new Error(`checkout: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.sessionId as string;
    },
    async pay(sessionId, domain) {
      const status = await sandbox.completeCheckout(sessionId);
      if (status !== 200) throw new Error(`webhook answered ${status}`);
      const [row] = await db.select({ id: servers.id }).from(servers).where(eq(servers.domain, domain));
      if (!row) throw new Error(`no server row for ${domain} after the webhook`);
      return row.id;
    },
    async waitForServers(ids, timeoutMs, pollMs = 25) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rows = await db.select({ id: servers.id, status: servers.status }).from(servers).where(inArray(servers.id, ids));
        const statuses = new Map(rows.map((r) => [r.id, r.status]));
        const settled = rows.filter((r) => r.status === 'ready' || r.status === 'failed').length === ids.length;
        if (settled || Date.now() > deadline) return { settled, statuses };
        // Only when to stop depends on this poll; the figures come from the timestamps the engine wrote.
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await ctx.close();
      await sandbox.stop();
      await smtp.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
