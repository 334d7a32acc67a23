/**
 * The composition root: the one place that builds the database, the job
 * queue, the vault, the providers (real or sandbox) and the provisioning
 * engine. Everything else receives what it needs from here.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { RateLimiter } from './api/middleware/rate-limit.ts';
import type { ApiDeps } from './api/deps.ts';
import type { AccountNotifier } from './accounts/notifier.ts';
import { mailAccountNotifier } from './mail/account-notifier.ts';
import { deriveKey } from './auth/keys.ts';
import { createLoginThrottle } from './auth/login-throttle.ts';
import { createPasswordHasher, type PasswordHasher } from './auth/passwords.ts';
import { createSessionService, type SessionService } from './auth/sessions.ts';
import type { Config } from './config.ts';
import { openDatabase, type Database } from './db/client.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded.ts';
import { runMigrations } from './db/migrate.ts';
import { JobQueue } from './jobs/queue.ts';
import type { Logger } from './log.ts';
import { createAlertStore, type AlertSink } from '../provisioning/alerts.ts';
import type { ProvisioningDeps, ProvisioningSettings } from '../provisioning/context.ts';
import type { BackupDeps } from './backups/deps.ts';
import type { ErasureDeps } from './gdpr/erase.ts';
import type { MailboxDeps } from './mailboxes/service.ts';
import { createEngine, type Engine } from '../provisioning/engine.ts';
import { STEPS } from '../provisioning/steps/index.ts';
import { systemClock, type Clock } from './clock.ts';
import { createProviders, type ProviderOptions, type ProviderSet } from './provider-set.ts';
import { EventHub } from './servers/event-hub.ts';
import { ReadCache } from './api/read-cache.ts';
import { createMailer } from './mail/create-mailer.ts';
import type { Mailer } from './mail/mailer.ts';
import type { SandboxOutbox } from './mail/sandbox-outbox.ts';
import type { HealthDeps } from './health/deps.ts';
import { NetProbe } from './health/probe.ts';
import { SandboxProbe } from './health/sandbox-probe.ts';
import type { BackupStorage } from './providers/storage/interface.ts';
import { sshDiskProbe } from './health/ssh-disk-probe.ts';
import { parseMasterKeys } from './vault/master-keys.ts';
import { stackSource } from './mailstack/stack.ts';
import { observeHost } from './fleet/observe.ts';
import { releaseOf } from './mailstack/release.ts';
import { pathToFileURL } from 'node:url';
import { ProviderError } from './errors.ts';
import { createPlacements, refusalText, type Placements } from './servers/placement.ts';
import { rootVolumeBytes } from './servers/root-volume.ts';
import { Vault } from './vault/vault.ts';
import { Shutdown } from './shutdown.ts';
import { sendEmailVerification, type RecoveryDeps } from './accounts/recovery.ts';
import type { OpsDeps } from './ops/deps.ts';
import { alertDeliveryPolicy } from './ops/alert-delivery.ts';
import { eq } from 'drizzle-orm';
import { servers } from './db/schema/index.ts';
import { WEBMAIL_HMAC_KEY_PATH } from './mailstack/render.ts';
import type { WebmailStandIn } from './web/web-env.ts';
import type { FleetDeps } from './fleet/deps.ts';

export interface AppContext {
  config: Config;
  log: Logger;
  database: Database;
  queue: JobQueue;
  hasher: PasswordHasher;
  sessions: SessionService;
  invitationKey: Buffer;
  clock: Clock;
  vault: Vault;
  providers: ProviderSet;
  alerts: AlertSink;
  engine: Engine;
  events: EventHub;
  /** Sessions, roles and server views kept by this process for the API's reads (evicted by NOTIFY). */
  readCache: ReadCache;
  /** Product mail (SMTP, or the sandbox outbox when MAIL_SMTP_URL is unset). */
  mailer: Mailer;
  /** The sandbox outbox behind /sandbox/mail; null when mail goes out over SMTP. */
  outbox: SandboxOutbox | null;
  /** Signs emailed single-use links (password reset, email verification). */
  accountTokenKey: Buffer;
  /** Server health checks (src/health). */
  health: HealthDeps;
  /** What provisioning steps and SSH-based jobs (mailbox sync) are given. */
  provisioning: ProvisioningDeps;
  /** Which zones sell each plan, and the instance type it gets there (Scaleway's catalogue). */
  placements: Placements;
  mailboxes: MailboxDeps;
  erasure: ErasureDeps;
  /** Server backups (src/backups). */
  backups: BackupDeps;
  /** Stack versions, drift checks, maintenance reboots, rollouts (src/fleet). */
  fleet: FleetDeps;
  /** Stops what the context started, last started first; each part bounded by `shutdown` (default: a fresh one). */
  close(shutdown?: Shutdown): Promise<void>;
}

export interface ContextOptions {
  worker: boolean;
  /** Apply migrations before anything else (the default for `npm start`). */
  migrate?: boolean;
  superviseIntervalSeconds?: number;
  providers?: ProviderOptions;
  clock?: Clock;
  /** Overrides for tests and benchmarks (fast retries and polls). */
  settings?: Partial<ProvisioningSettings>;
  /** Object storage for the backups instead of the provider set's; null: backups are off (the API and the page say so). */
  backupStorage?: BackupStorage | null;
}

export function provisioningSettings(
  config: Config,
  providers: ProviderSet,
  placements: Placements,
  overrides: Partial<ProvisioningSettings> = {},
): ProvisioningSettings {
  const plan = (id: string) => {
    const found = config.product.plans.find((p) => p.id === id);
    if (!found) throw new Error(`unknown plan "${id}"`);
    return found;
  };
  return {
    image: config.scalewayImage,
    dmarcRua: config.product.dmarcRua,
    acmeEmail: config.product.acmeEmail,
    acmeDirectoryUrl: config.product.acmeDirectoryUrl ?? providers.acmeDirectoryUrl,
    async instanceTypeFor(id, zone) {
      const chosen = await placements.typeFor(plan(id), zone);
      if ('commercialType' in chosen) return chosen.commercialType;
      throw new ProviderError({
        provider: 'scaleway',
        code: `instance_type_${chosen.refused}`,
        retryable: chosen.refused === 'shortage',
        detail: refusalText(plan(id), zone, chosen.refused),
      });
    },
    imageBakeTypeFor: async (zone) => {
      const first = config.product.plans[0];
      if (!first) throw new Error('no plan configured');
      const chosen = await placements.typeFor(first, zone);
      if ('commercialType' in chosen) return chosen.commercialType;
      throw new ProviderError({
        provider: 'scaleway',
        code: `instance_type_${chosen.refused}`,
        retryable: chosen.refused === 'shortage',
        detail: refusalText(first, zone, chosen.refused),
      });
    },
    imageZones: config.provisioning.imageZones,
    rootVolumeBytesOf: (id) => rootVolumeBytes(plan(id)),
    limitsOf: (id) => plan(id),
    sshEndpoint: (server) => providers.sshEndpoint(server),
    controlPlaneAddresses: config.controlPlane.addresses.length > 0 ? config.controlPlane.addresses : providers.controlPlaneAddresses,
    maxRotations: 3,
    retry: { baseMs: config.provisioning.retryBaseMs, maxMs: config.provisioning.retryMaxMs, maxAttempts: config.provisioning.maxAttempts },
    serverBootTimeoutMs: 10 * 60_000,
    pollIntervalMs: config.provisioning.pollMs,
    waitRecheckMs: config.provisioning.waitRecheckMs,
    dkim: config.dkim,
    tlsaRolloverWaitMs: config.tlsaRolloverWaitMs,
    ...overrides,
  };
}

/** Probes real hosts through the product's resolvers, trusting Node's roots plus HEALTH_TRUSTED_CA_FILE (or the sandbox's ACME CA). */
async function netProbe(config: Config, providers: ProviderSet): Promise<NetProbe> {
  const file = config.health.trustedCaFile ?? providers.sandbox?.trustedCaFile ?? null;
  let extraCa: string[] = [];
  if (file) {
    try {
      extraCa = [await readFile(file, 'utf8')];
    } catch (err) {
      throw new Error(`HEALTH_TRUSTED_CA_FILE ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  const host = new URL(config.http.publicUrl).hostname;
  // EHLO wants a domain name (an address literal needs brackets): a public URL's host, else "localhost".
  const heloName = isIP(host) === 0 && host.includes('.') ? host : 'localhost';
  return new NetProbe({ lookup: providers.lookup, extraCa, heloName });
}

/** Servers are the sandbox's emulated SSH hosts (not real machines, not a real cloud). */
function emulatedHosts(config: Config, providers: ProviderSet): boolean {
  if (providers.sandbox) return providers.sandbox.scaleway !== null && providers.sandbox.realHosts === null;
  return config.sandbox.url !== null && config.sandbox.hosts.mode === 'emulated';
}

/** Connects to DATABASE_URL, or starts (or reuses) the embedded PostgreSQL. */
export async function connectDatabaseUrl(config: Config, log: Logger): Promise<{ url: string; embedded: EmbeddedPostgres | null }> {
  if (config.db.url) return { url: config.db.url, embedded: null };
  const embedded = await startEmbeddedPostgres({ dataDir: config.db.dataDir, log: (line, routine) => (routine ? log.debug(line) : log.info(line)) });
  return { url: embedded.url, embedded };
}

export async function createAppContext(config: Config, log: Logger, opts: ContextOptions): Promise<AppContext> {
  if (!config.auth.sessionSecret) throw new Error('session secret unresolved');
  const { url, embedded } = await connectDatabaseUrl(config, log);
  // Last started, first stopped; each part named for the log line that says what a stop waits for.
  const cleanup: Array<{ name: string; boundMs: number; outsideBudget?: boolean; stop: (part: { signal: AbortSignal; timeoutMs: number }) => Promise<void> }> =
    [];
  // Always waited for, whatever is left of the budget: a database left running would outlive us.
  if (embedded) cleanup.push({ name: 'the embedded PostgreSQL to stop', boundMs: 8_000, outsideBudget: true, stop: (part) => embedded.stop(part) });
  try {
    if (opts.migrate ?? true) await runMigrations(url);
    const database = openDatabase(url);
    cleanup.unshift({ name: 'database connections to close', boundMs: 1_000, stop: () => database.close() });
    const supervise = opts.superviseIntervalSeconds ?? config.jobs.superviseIntervalSeconds;
    const queue = await JobQueue.start({
      url,
      log,
      worker: opts.worker,
      pollSeconds: config.jobs.pollSeconds,
      sql: database.sql,
      ...(supervise ? { superviseIntervalSeconds: supervise } : {}),
      policies: { 'ops.alert_delivery': alertDeliveryPolicy(config.ops.delivery) },
    });
    // In-flight jobs get a short grace; past it pg-boss fails them back to the queue, to be picked up again (steps are idempotent).
    cleanup.unshift({
      name: 'job handlers in flight',
      boundMs: 5_000,
      stop: ({ signal, timeoutMs }) => queue.stop({ graceful: !signal.aborted, timeoutMs: timeoutMs - 500 }),
    });
    const clock = opts.clock ?? systemClock;
    const providers = await createProviders(config, log, clock, {
      webhookUrl: `http://127.0.0.1:${config.http.port}/v1/webhooks/stripe`,
      ...opts.providers,
    });
    // Real-host machines (SANDBOX_HOSTS=container, development only) power off within their own minute, killed past it:
    // waited for beyond the stop budget, since a machine left running would outlive us.
    const realHosts = providers.sandbox?.realHosts != null;
    cleanup.unshift({
      name: realHosts ? 'the sandbox and its real-host machines to stop' : 'the sandbox emulators to stop',
      boundMs: realHosts ? 75_000 : 3_000,
      outsideBudget: realHosts,
      stop: () => providers.close(),
    });
    if (!config.vault.masterKeys) throw new Error('vault master keys unresolved');
    const vault = new Vault(parseMasterKeys(config.vault.masterKeys));
    const alerts = createAlertStore();
    const placements = createPlacements({ compute: providers.compute, zones: config.product.zones });
    const provisioning: ProvisioningDeps = {
      database,
      queue,
      clock,
      log,
      vault,
      alerts,
      compute: providers.compute,
      dns: providers.dns,
      remote: providers.remote,
      lookup: providers.lookup,
      dnsbl: providers.dnsbl,
      settings: provisioningSettings(config, providers, placements, opts.settings),
      stack: stackSource({
        release: config.fleet.release ?? (await releaseOf()),
        ...(config.fleet.templatesDir ? { dir: pathToFileURL(`${config.fleet.templatesDir.replace(/\/+$/, '')}/`) } : {}),
      }),
    };
    const backups: BackupDeps = {
      database,
      queue,
      vault,
      alerts,
      clock,
      log,
      provisioning,
      storage: opts.backupStorage !== undefined ? opts.backupStorage : providers.storage,
      settings: config.backups,
      simulatedHosts: emulatedHosts(config, providers),
    };
    provisioning.backups = backups;
    const engine = createEngine(provisioning, STEPS);
    const hasher = createPasswordHasher();
    const events = new EventHub(database.sql);
    cleanup.unshift({ name: 'the event listener to close', boundMs: 1_000, stop: () => events.close() });
    const readCache = new ReadCache({ ttlMs: config.http.readCacheMs, now: () => clock.now() });
    const readCacheListener = await readCache.listen(database.sql);
    cleanup.unshift({ name: 'the read cache listener to close', boundMs: 1_000, stop: () => readCacheListener.close() });
    const { mailer, outbox, close: closeMailer } = createMailer(config, database.db);
    cleanup.unshift({ name: 'the mailer to close', boundMs: 1_000, stop: async () => closeMailer() });
    return {
      config,
      log,
      database,
      queue,
      clock,
      vault,
      providers,
      alerts,
      engine,
      events,
      readCache,
      mailer,
      outbox,
      accountTokenKey: deriveKey(config.auth.sessionSecret, 'account-token'),
      health: {
        db: database.db,
        lookup: providers.lookup,
        dnsbl: providers.dnsbl,
        mailer,
        log,
        publicUrl: config.http.publicUrl,
        intervalMinutes: config.health.intervalMinutes,
        // The context's clock, as every other sweep's: when runs are due and what they store as checked.
        now: () => new Date(clock.now()),
        blacklistMaxAgeMinutes: 2 * config.ops.monitorIntervalMinutes,
        defaultWindow: config.fleet.defaultWindow,
        observeHost: (server) => observeHost(provisioning, server),
        backupsConfigured: opts.backupStorage !== null,
        // Emulated sandbox hosts listen on no mail ports: answer from what provisioning recorded.
        // (Their documentation-range addresses may even be routed to other machines on a shared host.)
        probe: emulatedHosts(config, providers) ? new SandboxProbe({ db: database.db }) : await netProbe(config, providers),
        disk: sshDiskProbe(provisioning),
      },
      provisioning,
      placements,
      mailboxes: {
        database,
        queue,
        vault,
        clock,
        limitsOf: provisioning.settings.limitsOf,
        // Emulated servers run no webmail: their login links open the sandbox's stand-in page instead.
        ...(providers.sandbox?.ssh
          ? {
              webmailUrl: (server: { id: string }, token: string) => `${config.http.publicUrl}/sandbox/webmail/${server.id}?token=${encodeURIComponent(token)}`,
            }
          : {}),
      },
      erasure: {
        database,
        queue,
        billing: providers.billing,
        dns: providers.dns,
        hasher,
        engine,
        alerts,
        log,
        mailer,
        backups,
        workspaceGraceMs: config.auth.workspaceErasureGraceMs,
        publicUrl: config.http.publicUrl,
        clock,
      },
      backups,
      fleet: { provisioning, settings: config.fleet },
      hasher,
      sessions: createSessionService({
        key: deriveKey(config.auth.sessionSecret, 'session-jwt'),
        ttlSeconds: config.auth.sessionTtlSeconds,
        now: () => clock.now(),
      }),
      invitationKey: deriveKey(config.auth.sessionSecret, 'invitation-token'),
      close: async (shutdown = new Shutdown({ log })) => {
        for (const part of cleanup) await shutdown.step(part.name, part.boundMs, part.stop, { outsideBudget: part.outsideBudget ?? false });
      },
    };
  } catch (err) {
    const shutdown = new Shutdown({ log });
    for (const part of cleanup) await shutdown.step(part.name, part.boundMs, part.stop, { outsideBudget: part.outsideBudget ?? false });
    throw err;
  }
}

/** `accountNotifier`: how account owners hear about their account's security (default: mail). */
export function apiDeps(ctx: AppContext, accountNotifier?: AccountNotifier): ApiDeps {
  const minute = 60_000;
  const now = () => ctx.clock.now();
  return {
    config: ctx.config,
    clock: ctx.clock,
    log: ctx.log,
    db: ctx.database.db,
    hasher: ctx.hasher,
    sessions: ctx.sessions,
    readCache: ctx.readCache,
    vault: ctx.vault,
    invitationKey: ctx.invitationKey,
    mailer: ctx.mailer,
    sendEmailVerification: (userId, o) => sendEmailVerification(recoveryDeps(ctx), userId, o),
    limiters: {
      auth: new RateLimiter({ limit: ctx.config.auth.rateLimitAuthPerMinute, windowMs: minute, now }),
      api: new RateLimiter({ limit: ctx.config.auth.rateLimitApiPerMinute, windowMs: minute, now }),
      passwordExport: new RateLimiter({ limit: ctx.config.auth.passwordExportsPerHour, windowMs: 60 * minute, now }),
    },
    loginThrottle: createLoginThrottle({ db: ctx.database.db, key: deriveKey(ctx.config.auth.sessionSecret!, 'login-throttle'), now }),
    // Mail by default: the owner of an address must hear that someone tried to sign up with it.
    accountNotifier: accountNotifier ?? mailAccountNotifier({ mailer: ctx.mailer, log: ctx.log, publicUrl: ctx.config.http.publicUrl }),
    provisioning: {
      database: ctx.database,
      queue: ctx.queue,
      billing: ctx.providers.billing,
      engine: ctx.engine,
      lookup: ctx.providers.lookup,
      events: ctx.events,
      mailboxes: ctx.mailboxes,
      erasure: ctx.erasure,
      placements: ctx.placements,
    },
    readiness: {
      database: async () => (await ctx.database.sql`select 1 as ok`).length === 1,
      queue: () => ctx.queue.ping(),
    },
  };
}

/** What the account-recovery flows (emailed links) receive. */
export function recoveryDeps(ctx: AppContext): RecoveryDeps {
  return {
    db: ctx.database.db,
    hasher: ctx.hasher,
    sessions: ctx.sessions,
    mailer: ctx.mailer,
    log: ctx.log,
    tokenKey: ctx.accountTokenKey,
    publicUrl: ctx.config.http.publicUrl,
    clock: ctx.clock,
  };
}

/** What the ops services (monitoring, alert delivery, reconciliation, metrics, rotation) receive. */
/** The stand-in for an emulated server's webmail: reads the key the server was given from its emulated disk. */
export function webmailStandIn(ctx: AppContext): WebmailStandIn | null {
  const ssh = ctx.providers.sandbox?.ssh;
  if (!ssh) return null;
  return {
    now: () => ctx.clock.now(),
    async keyOf(serverId) {
      const [server] = await ctx.database.db.select({ domain: servers.domain, hostId: servers.providerServerId }).from(servers).where(eq(servers.id, serverId));
      if (!server?.hostId) return null;
      const file = await ssh.file(server.hostId, WEBMAIL_HMAC_KEY_PATH);
      return file ? { domain: server.domain, key: file.content.toString('utf8').trim() } : null;
    },
  };
}

export function opsDeps(ctx: AppContext): OpsDeps {
  return {
    database: ctx.database,
    queue: ctx.queue,
    compute: ctx.providers.compute,
    dnsbl: ctx.providers.dnsbl,
    alerts: ctx.alerts,
    clock: ctx.clock,
    log: ctx.log,
    settings: ctx.config.ops,
  };
}
