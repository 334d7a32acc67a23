/**
 * The composition root: the one place that builds the database, the job
 * queue, the services and (later) picks real or sandbox providers. Everything
 * else receives what it needs from here.
 */
import { RateLimiter } from './api/middleware/rate-limit.ts';
import type { ApiDeps } from './api/deps.ts';
import { deriveKey } from './auth/keys.ts';
import { createPasswordHasher, type PasswordHasher } from './auth/passwords.ts';
import { createSessionService, type SessionService } from './auth/sessions.ts';
import type { Config } from './config.ts';
import { openDatabase, type Database } from './db/client.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded.ts';
import { runMigrations } from './db/migrate.ts';
import { JobQueue } from './jobs/queue.ts';
import type { Logger } from './log.ts';

export interface AppContext {
  config: Config;
  log: Logger;
  database: Database;
  queue: JobQueue;
  hasher: PasswordHasher;
  sessions: SessionService;
  invitationKey: Buffer;
  close(): Promise<void>;
}

export interface ContextOptions {
  worker: boolean;
  /** Apply migrations before anything else (the default for `npm start`). */
  migrate?: boolean;
  superviseIntervalSeconds?: number;
}

/** Connects to DATABASE_URL, or starts (or reuses) the embedded PostgreSQL. */
export async function connectDatabaseUrl(config: Config, log: Logger): Promise<{ url: string; embedded: EmbeddedPostgres | null }> {
  if (config.db.url) return { url: config.db.url, embedded: null };
  const embedded = await startEmbeddedPostgres({ dataDir: config.db.dataDir, log: (line) => log.info(line) });
  return { url: embedded.url, embedded };
}

export async function createAppContext(config: Config, log: Logger, opts: ContextOptions): Promise<AppContext> {
  if (!config.auth.sessionSecret) throw new Error('session secret unresolved');
  const { url, embedded } = await connectDatabaseUrl(config, log);
  const cleanup: Array<() => Promise<void>> = [];
  if (embedded) cleanup.push(() => embedded.stop());
  try {
    if (opts.migrate ?? true) await runMigrations(url);
    const database = openDatabase(url);
    cleanup.unshift(() => database.close());
    const queue = await JobQueue.start({ url, log, worker: opts.worker, ...(opts.superviseIntervalSeconds ? { superviseIntervalSeconds: opts.superviseIntervalSeconds } : {}) });
    cleanup.unshift(() => queue.stop());
    return {
      config,
      log,
      database,
      queue,
      hasher: createPasswordHasher(),
      sessions: createSessionService({ key: deriveKey(config.auth.sessionSecret, 'session-jwt'), ttlSeconds: config.auth.sessionTtlSeconds }),
      invitationKey: deriveKey(config.auth.sessionSecret, 'invitation-token'),
      close: async () => {
        for (const step of cleanup) await step().catch((err) => log.error({ err }, 'shutdown step failed'));
      },
    };
  } catch (err) {
    for (const step of cleanup) await step().catch(() => {});
    throw err;
  }
}

export function apiDeps(ctx: AppContext): ApiDeps {
  const minute = 60_000;
  return {
    config: ctx.config,
    log: ctx.log,
    db: ctx.database.db,
    hasher: ctx.hasher,
    sessions: ctx.sessions,
    invitationKey: ctx.invitationKey,
    limiters: {
      auth: new RateLimiter({ limit: ctx.config.auth.rateLimitAuthPerMinute, windowMs: minute }),
      api: new RateLimiter({ limit: ctx.config.auth.rateLimitApiPerMinute, windowMs: minute }),
    },
    readiness: {
      database: async () => (await ctx.database.sql`select 1 as ok`).length === 1,
      queue: () => ctx.queue.ping(),
    },
  };
}
