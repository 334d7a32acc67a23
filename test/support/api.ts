/**
 * An API instance on its own database for one test file, driven through
 * app.request() (no socket), with the log lines captured for assertions.
 */
import { ReadCache } from '../../src/api/read-cache.ts';
import { randomBytes } from 'node:crypto';
import { createApp, type RouteRegistrar } from '../../src/api/app.ts';
import type { ApiDeps } from '../../src/api/deps.ts';
import type { App } from '../../src/api/env.ts';
import { RateLimiter } from '../../src/api/middleware/rate-limit.ts';
import type { AccountNotice } from '../../src/accounts/notifier.ts';
import { createLoginThrottle, type LoginThrottlePolicy } from '../../src/auth/login-throttle.ts';
import { deriveKey } from '../../src/auth/keys.ts';
import { createPasswordHasher } from '../../src/auth/passwords.ts';
import { createSessionService } from '../../src/auth/sessions.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { Vault } from '../../src/vault/vault.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { responseContract } from './response-contract.ts';

export const TEST_SECRET = 'test-session-secret-that-is-long-enough-1234567890';
export const STRONG_PASSWORD = 'Plum-Harbour-Lantern-42';

export interface CallResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestApi {
  app: App;
  deps: ApiDeps;
  database: TestDatabase;
  config: Config;
  logLines: string[];
  /** What the account notifier was asked to tell account owners. */
  notices: AccountNotice[];
  call<T = any>(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ): Promise<CallResult<T>>;
  signup(email: string, name?: string): Promise<{ token: string; userId: string }>;
  close(): Promise<void>;
}

export interface TestApiOptions {
  env?: Record<string, string>;
  extra?: (deps: ApiDeps) => RouteRegistrar[];
  /** The rate limiters' clock: a fixed time keeps a test inside one window whatever the wall clock does. */
  limiterNow?: () => number;
  /** The sign-in throttle's clock and policy. */
  loginThrottle?: { now?: () => number; policy?: Partial<LoginThrottlePolicy> };
}

export async function createTestApi(opts: TestApiOptions = {}): Promise<TestApi> {
  const database = await createTestDatabase();
  const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: TEST_SECRET, LOG_LEVEL: 'info', DATABASE_URL: database.url, ...opts.env });
  const logLines: string[] = [];
  const notices: AccountNotice[] = [];
  const log = createLogger({ level: 'info', pretty: false, destination: { write: (line: string) => void logLines.push(line) } });
  // The API's read cache, as the product runs it (read-cache.ts): a test of revocation or of a
  // removed role proves the eviction, not a cache that was never there.
  const readCache = new ReadCache({ ttlMs: config.http.readCacheMs });
  const readCacheListener = await readCache.listen(database.sql);
  const deps: ApiDeps = {
    config,
    log,
    readCache,
    db: database.db,
    // Lighter argon2 parameters keep the suite fast; the algorithm and code path are the production ones.
    hasher: createPasswordHasher({ memoryCost: 4096, timeCost: 1 }),
    sessions: createSessionService({ key: deriveKey(TEST_SECRET, 'session-jwt'), ttlSeconds: config.auth.sessionTtlSeconds }),
    vault: new Vault({ activeId: 'test', keys: new Map([['test', randomBytes(32)]]) }),
    invitationKey: deriveKey(TEST_SECRET, 'invitation-token'),
    limiters: {
      auth: new RateLimiter({ limit: config.auth.rateLimitAuthPerMinute, windowMs: 60_000, ...(opts.limiterNow ? { now: opts.limiterNow } : {}) }),
      api: new RateLimiter({ limit: config.auth.rateLimitApiPerMinute, windowMs: 60_000, ...(opts.limiterNow ? { now: opts.limiterNow } : {}) }),
      passwordExport: new RateLimiter({ limit: config.auth.passwordExportsPerHour, windowMs: 3_600_000, ...(opts.limiterNow ? { now: opts.limiterNow } : {}) }),
    },
    loginThrottle: createLoginThrottle({ db: database.db, key: deriveKey(TEST_SECRET, 'login-throttle'), ...opts.loginThrottle }),
    accountNotifier: { notify: async (notice) => void notices.push(notice) },
    readiness: { database: async () => (await database.sql`select 1 as ok`).length === 1 },
  };
  const app = createApp(deps, opts.extra?.(deps) ?? []);
  const checkResponse = responseContract(app);
  let ipCounter = 0;

  const call: TestApi['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers['authorization'] = `Bearer ${o.token}`;
    let body: string | undefined = o.rawBody;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    checkResponse(method, path, res.status, res.headers.get('content-type'), parsed);
    return { status: res.status, body: parsed as any, headers: res.headers };
  };

  return {
    app,
    deps,
    database,
    config,
    logLines,
    notices,
    call,
    async signup(email, name = 'Test User') {
      // Each sign-up comes from its own address so the per-IP auth limit is not what a test measures.
      const ip = `10.0.${ipCounter >> 8}.${ipCounter++ & 255}`;
      const res = await call('POST', '/v1/auth/signup', { body: { email, password: STRONG_PASSWORD, name }, headers: { 'x-forwarded-for': ip } });
      if (res.status !== 202) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
      // Sign-up issues no session (it answers the same for a taken address); the password signs in.
      const login = await call('POST', '/v1/auth/login', { body: { email, password: STRONG_PASSWORD }, headers: { 'x-forwarded-for': ip } });
      if (login.status !== 200) throw new Error(`login after signup failed: ${login.status} ${JSON.stringify(login.body)}`);
      return { token: login.body.token, userId: login.body.user.id };
    },
    close: async () => {
      await readCacheListener.close();
      await database.close();
    },
  };
}
