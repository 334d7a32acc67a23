/**
 * The whole product on the sandbox for one test file: its own database, the
 * emulators in this process (so a test can look inside them), the API served
 * on 127.0.0.1 (the Stripe emulator delivers webhooks to it), and the workers.
 * Retries and polls are shortened; the code paths are the production ones.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, desc, eq } from 'drizzle-orm';
import { createApp } from '../../src/api/app.ts';
import { listenHttp } from '../../src/api/http-server.ts';
import { apiDeps, createAppContext, type AppContext } from '../../src/app-context.ts';
import type { Clock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { provisioningRuns, provisioningSteps, servers, subscriptions, users } from '../../src/db/schema/index.ts';
import { createLogger } from '../../src/log.ts';
import { DEFAULT_DNSBL_ZONES } from '../../src/providers/lookup/dnsbl-zones.ts';
import { Sandbox } from '../../src/sandbox/sandbox.ts';
import { productRegistrars } from '../../src/app-routes.ts';
import { startWorkers } from '../../src/workers.ts';
import { STRONG_PASSWORD, TEST_SECRET, type CallResult } from './api.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { endGracePeriods } from '../../src/billing/grace.ts';
import { enrolTotp } from './two-factor.ts';
import { responseContract } from './response-contract.ts';
import { mailAccountNotifier } from '../../src/mail/account-notifier.ts';
import { startDueErasures } from '../../src/gdpr/erasure-grace.ts';
import { manualClock } from './clock.ts';

export const TEST_VAULT_KEYS = 'test1:' + Buffer.alloc(32, 7).toString('base64');
export const FAST_SETTINGS = {
  retry: { baseMs: 20, maxMs: 200, maxAttempts: 8 },
  pollIntervalMs: 20,
  serverBootTimeoutMs: 30_000,
};

export interface HarnessOptions {
  listFirstIps?: number;
  listedIps?: string[];
  /** false: emulators only (a child process runs the workers). */
  workers?: boolean;
  env?: Record<string, string>;
  /** Real Debian machines behind the instances (test/e2e/real-hosts). */
  realHosts?: { cacheDir: string; mirror: string };
  /** Provisioning settings instead of FAST_SETTINGS' (real hosts take real time). */
  settings?: Partial<typeof FAST_SETTINGS>;
  /** Listen on this port instead of any free one (browser tests set PUBLIC_URL to it). */
  port?: number;
  /** Captures every log line of the product (level info) here, for log checks. */
  logLines?: string[];
  /** The product's clock (default: the system's). */
  clock?: Clock;
}

export interface Harness {
  sandbox: Sandbox;
  ctx: AppContext;
  database: TestDatabase;
  baseUrl: string;
  env: Record<string, string>;
  call<T = any>(method: string, path: string, opts?: { token?: string; body?: unknown }): Promise<CallResult<T>>;
  /**
   * Signs up, confirms the address through the mailed link (checkout and invitations need it;
   * `verified: false` leaves it unconfirmed), creates a workspace, returns the session and workspace.
   */
  customer(email: string, opts?: { verified?: boolean }): Promise<{ token: string; workspaceId: string }>;
  /** Signs up and (unless `verified: false`) confirms through the mailed link → the session and the user id. */
  signup(email: string, opts?: { verified?: boolean; name?: string }): Promise<{ token: string; userId: string }>;
  /** Confirms a signed-up address as its owner does: the token from the mailed link, posted to the API → the session it signs in with. */
  verifyEmail(email: string): Promise<string>;
  /** Signs in with the password every harness account has → the session token. */
  login(email: string): Promise<string>;
  /** Checkout through the API and the Stripe emulator's "pay" → the server id. */
  subscribe(token: string, workspaceId: string, domain: string, region?: string): Promise<{ serverId: string; sessionId: string }>;
  waitForServer(serverId: string, statuses: string[], timeoutMs?: number): Promise<typeof servers.$inferSelect>;
  /** Subscribes and waits (up to 2 minutes) for the server to be ready; failing on the way fails the caller. */
  readyServer(token: string, workspaceId: string, domain: string): Promise<{ serverId: string }>;
  /** Waits until the step of the server's latest run has `status`. */
  waitForStep(serverId: string, step: string, status: string, timeoutMs?: number): Promise<void>;
  /** A staff account (support or ops), with an authenticator enrolled as staff must have → its token. */
  staff(email: string, role?: 'support' | 'ops'): Promise<string>;
  /** The authenticator secrets of the accounts staff() enrolled, by email, for signing them in. */
  totpSecrets: Map<string, string>;
  /** Runs the billing grace sweep as if every ended subscription's grace period were over (deprovisions their servers). */
  afterGracePeriod(): Promise<void>;
  /** Runs the erasure sweep as if every scheduled workspace erasure's grace period were over → the workspaces it started erasing. */
  afterErasureGrace(): Promise<string[]>;
  /** The customer cancels in Stripe (the emulator sends customer.subscription.deleted). */
  cancelSubscription(subscriptionId: string | null): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const database = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'mailplane-test-'));
  const sandbox = new Sandbox({
    compute: true,
    dns: true,
    billing: true,
    dataDir,
    dnsblZones: DEFAULT_DNSBL_ZONES,
    listedIps: opts.listedIps ?? [],
    listFirstIps: opts.listFirstIps ?? 0,
    ...(opts.realHosts ? { realHosts: opts.realHosts } : {}),
    ...(process.env['HARNESS_LOG'] ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
  });
  await sandbox.start();
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SESSION_SECRET: TEST_SECRET,
    VAULT_MASTER_KEYS: TEST_VAULT_KEYS,
    DATABASE_URL: database.url,
    MAILPLANE_DATA_DIR: dataDir,
    RATE_LIMIT_AUTH_PER_MINUTE: '1000',
    JOBS_POLL_SECONDS: '0.5',
    RATE_LIMIT_API_PER_MINUTE: '100000',
    ...sandbox.env(),
    ...opts.env,
  };
  const config = loadConfig(env);
  // HARNESS_LOG=debug (or info, warn) shows the product's log while debugging a test.
  const level = process.env['HARNESS_LOG'];
  const capture = opts.logLines;
  const log = capture
    ? createLogger({ level: 'info', pretty: false, destination: { write: (line: string) => void capture.push(line) } })
    : createLogger({ level: level ?? 'warn', pretty: false, destination: level ? process.stderr : { write: () => {} } });
  const ctx = await createAppContext(config, log, {
    worker: opts.workers ?? true,
    migrate: false,
    settings: { ...FAST_SETTINGS, ...opts.settings },
    providers: { sandbox },
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  if (opts.workers ?? true) await startWorkers(ctx);
  // The same app as `mailplane api`: the /v1 resources plus the product routes and the dashboard, and account notices by mail.
  const deps = apiDeps(ctx, mailAccountNotifier({ mailer: ctx.mailer, log, publicUrl: config.http.publicUrl }));
  const app = createApp(deps, productRegistrars(ctx, deps));
  const checkResponse = responseContract(app);
  // The same HTTP server too: parser refusals as problem+json, keep-alive after refused bodies.
  const http = await listenHttp(app, { host: '127.0.0.1', port: opts.port ?? 0, log });
  const baseUrl = http.url;
  sandbox.stripe!.setWebhookUrl(`${baseUrl}/v1/webhooks/stripe`);

  const call: Harness['call'] = async (method, path, o = {}) => {
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
    checkResponse(method, path, res.status, res.headers.get('content-type'), body);
    return { status: res.status, body, headers: res.headers };
  };

  const harness: Harness = {
    sandbox,
    ctx,
    database,
    baseUrl,
    env,
    call,
    async signup(email, o = {}) {
      const res = await call('POST', '/v1/auth/signup', { body: { email, password: STRONG_PASSWORD, name: o.name ?? 'Customer' } });
      if (res.status !== 202) throw new Error(`signup: ${res.status} ${JSON.stringify(res.body)}`);
      // Confirming through the mailed link signs in; an unconfirmed person signs in with the password.
      const token = (o.verified ?? true) ? await harness.verifyEmail(email) : await harness.login(email);
      const me = await call('GET', '/v1/me', { token });
      return { token, userId: me.body.user.id as string };
    },
    async customer(email, o = {}) {
      const { token } = await harness.signup(email, o);
      const ws = await call('POST', '/v1/workspaces', { token, body: { name: `${email} mail` } });
      if (ws.status !== 201) throw new Error(`workspace: ${ws.status} ${JSON.stringify(ws.body)}`);
      return { token, workspaceId: ws.body.id };
    },
    async login(email) {
      const res = await call('POST', '/v1/auth/login', { body: { email, password: STRONG_PASSWORD } });
      if (res.status !== 200) throw new Error(`login: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.token as string;
    },
    async verifyEmail(email) {
      const mails =
        await database.sql`select text from sandbox_mail where ${email} = any("to") and text like '%/verify-email?token=%' order by created_at desc limit 1`;
      const token = /\/verify-email\?token=([^\s&]+)/.exec(String(mails[0]?.['text'] ?? ''))?.[1];
      if (!token) throw new Error(`no verification mail for ${email}`);
      const res = await call('POST', '/v1/auth/email/verify', { body: { token: decodeURIComponent(token) } });
      if (res.status !== 200) throw new Error(`verify: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.token as string;
    },
    async subscribe(token, workspaceId, domain, region = 'fr-par-1') {
      const checkout = await call('POST', `/v1/workspaces/${workspaceId}/checkout`, { token, body: { plan: 'starter', region, domain } });
      if (checkout.status !== 201) throw new Error(`checkout: ${checkout.status} ${JSON.stringify(checkout.body)}`);
      const delivery = await sandbox.stripe!.completeCheckout(checkout.body.sessionId);
      if (delivery.status !== 200) throw new Error(`webhook answered ${delivery.status}`);
      const [row] = await database.db.select().from(servers).where(eq(servers.domain, domain));
      if (!row) throw new Error('no server row after the webhook');
      return { serverId: row.id, sessionId: checkout.body.sessionId };
    },
    async waitForServer(serverId, statuses, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [row] = await database.db.select().from(servers).where(eq(servers.id, serverId));
        if (row && statuses.includes(row.status)) return row;
        if (Date.now() > deadline) {
          const runs = await database.db.select().from(provisioningRuns).where(eq(provisioningRuns.serverId, serverId));
          const steps = runs.length
            ? await database.db
                .select()
                .from(provisioningSteps)
                .where(eq(provisioningSteps.runId, runs.at(-1)!.id))
            : [];
          throw new Error(
            `server ${serverId} is ${row?.status} (wanted ${statuses.join('|')}); runs: ${JSON.stringify(runs.map((r) => [r.kind, r.status, r.error]))}; ` +
              `last run's steps: ${JSON.stringify(steps.map((st) => [st.name, st.status, st.attempt, st.error]))}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async readyServer(token, workspaceId, domain) {
      const { serverId } = await harness.subscribe(token, workspaceId, domain);
      const row = await harness.waitForServer(serverId, ['ready', 'failed'], 120_000);
      if (row.status !== 'ready') throw new Error(`server for ${domain} is ${row.status}: ${row.statusReason}`);
      return { serverId };
    },
    async waitForStep(serverId, step, status, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [run] = await database.db
          .select()
          .from(provisioningRuns)
          .where(eq(provisioningRuns.serverId, serverId))
          .orderBy(desc(provisioningRuns.createdAt))
          .limit(1);
        const [row] = run
          ? await database.db
              .select()
              .from(provisioningSteps)
              .where(and(eq(provisioningSteps.runId, run.id), eq(provisioningSteps.name, step)))
          : [];
        if (row?.status === status) return;
        if (Date.now() > deadline) throw new Error(`step ${step} is ${row?.status} (wanted ${status})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async staff(email, role = 'support') {
      const { token } = await harness.customer(email);
      await database.db.update(users).set({ staffRole: role }).where(eq(users.email, email));
      // Staff must have a second factor before any staff route answers them.
      harness.totpSecrets.set(email, (await enrolTotp(call, token)).secret);
      return token;
    },
    totpSecrets: new Map(),
    async afterGracePeriod() {
      // The billing grace sweep, run as if the grace period of every ended subscription were over.
      const grace = ctx.config.billing.graceMs;
      await endGracePeriods({ database, queue: ctx.queue, billing: ctx.providers.billing, log: ctx.log, clock: manualClock(ctx.clock.now() + grace + 60_000) });
    },
    async afterErasureGrace() {
      return startDueErasures(ctx.erasure, new Date(ctx.clock.now() + ctx.erasure.workspaceGraceMs + 60_000));
    },
    async cancelSubscription(subscriptionId) {
      if (!subscriptionId) throw new Error('server has no subscription');
      const [sub] = await database.db.select().from(subscriptions).where(eq(subscriptions.id, subscriptionId));
      const delivery = await sandbox.stripe!.cancelSubscription(sub!.stripeSubscriptionId!);
      if (delivery.status !== 200) throw new Error(`webhook answered ${delivery.status}`);
    },
    async close() {
      await http.close(1_000);
      await ctx.close();
      await sandbox.stop();
      await database.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}
