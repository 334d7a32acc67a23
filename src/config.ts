/**
 * The one place the environment is read. Parsed once with zod, grouped by
 * concern; a bad value stops the process with a readable list of problems.
 * Provider groups are `null` when their credentials are absent: the
 * composition root then starts that provider's sandbox emulator instead.
 */
import { z } from 'zod';
import { isAddressOrCidr } from './net-address.ts';
import { ZONES } from './providers/compute/interface.ts';

const emptyToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.preprocess(emptyToUndefined, z.coerce.number().int().min(min).max(max).default(def));
const bool = (def: boolean) =>
  z.preprocess(
    emptyToUndefined,
    z
      .enum(['true', 'false', '1', '0'])
      .default(def ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
  );
const list = (def: string[]) =>
  z.preprocess(emptyToUndefined, z.string().optional()).transform((v) =>
    v === undefined
      ? def
      : v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
  );

export const planSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]{1,40}$/),
  name: z.string().min(1),
  stripePriceId: z.string().min(1),
  /** The preferred Scaleway instance type; fallbackTypes are used, in order, in zones that do not sell it. */
  commercialType: z.string().min(1),
  fallbackTypes: z.array(z.string().min(1)).default([]),
  mailboxes: z.number().int().positive(),
  /** Storage shared by the server's mailboxes (the disk is sized for it). */
  storageGb: z.number().int().positive(),
  /** How much of it one mailbox may use (its Dovecot quota; default: all of it): pooled storage, not storage ÷ mailboxes. */
  mailboxQuotaGb: z.number().int().positive().optional(),
  messagesPerHour: z.number().int().positive(),
  /** Aliases on the server (all mailboxes together), and mailboxes that may forward to an outside address. */
  aliases: z.number().int().nonnegative().default(50),
  forwards: z.number().int().nonnegative().default(10),
  /** The price shown on the subscribe page (Stripe's price object charges; keep them equal). */
  monthlyPriceCents: z.number().int().nonnegative().optional(),
  currency: z
    .string()
    .regex(/^[a-z]{3}$/)
    .default('eur'),
});
export type Plan = z.infer<typeof planSchema>;

/** A new mailbox's quota in MB: the plan's per-mailbox share of its pooled storage. */
export const mailboxQuotaMb = (plan: Pick<Plan, 'storageGb' | 'mailboxQuotaGb'>): number =>
  Math.min(plan.mailboxQuotaGb ?? plan.storageGb, plan.storageGb) * 1024;

// DEV1 is not sold in fr-par-3, nl-ams-3 or pl-waw-3: PLAY2 of the same memory stands in where it is sold
// (nl-ams-3, pl-waw-3). fr-par-3 sells only PRO2 (8 GB and up, more than these prices pay for): not offered.
const DEFAULT_PLANS: Plan[] = [
  {
    id: 'starter',
    name: 'Starter',
    stripePriceId: 'price_mailplane_starter',
    commercialType: 'DEV1-S',
    fallbackTypes: ['PLAY2-PICO'],
    mailboxes: 10,
    storageGb: 20,
    mailboxQuotaGb: 10,
    messagesPerHour: 200,
    aliases: 50,
    forwards: 10,
    monthlyPriceCents: 1900,
    currency: 'eur',
  },
  {
    id: 'business',
    name: 'Business',
    stripePriceId: 'price_mailplane_business',
    commercialType: 'DEV1-M',
    fallbackTypes: ['PLAY2-NANO'],
    mailboxes: 50,
    storageGb: 40,
    mailboxQuotaGb: 20,
    messagesPerHour: 1000,
    aliases: 250,
    forwards: 50,
    monthlyPriceCents: 4900,
    currency: 'eur',
  },
];

const envSchema = z.object({
  NODE_ENV: z.preprocess(emptyToUndefined, z.enum(['development', 'production', 'test']).default('development')),
  HOST: z.preprocess(emptyToUndefined, z.string().default('127.0.0.1')),
  PORT: int(3000, 0, 65535),
  PUBLIC_URL: z.preprocess(emptyToUndefined, z.url().optional()),
  LOG_LEVEL: z.preprocess(emptyToUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  TRUST_PROXY: bool(false),

  DATABASE_URL: optionalString,
  MAILPLANE_DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('.data')),

  SESSION_SECRET: optionalString,
  VAULT_MASTER_KEYS: optionalString,
  VAULT_MASTER_KEY_FILE: optionalString,
  SESSION_TTL_MINUTES: int(60, 5, 24 * 60),
  INVITATION_TTL_HOURS: int(24 * 7, 1, 24 * 30),
  INVITATIONS_PER_WORKSPACE_PER_DAY: int(20, 1, 10_000),
  /** Hours between an owner asking to erase a workspace and the erasure starting; any owner may cancel meanwhile. 0: at once. */
  WORKSPACE_ERASURE_GRACE_HOURS: int(24, 0, 720),
  BODY_LIMIT_BYTES: int(64 * 1024, 1024, 10 * 1024 * 1024),
  RATE_LIMIT_AUTH_PER_MINUTE: int(10, 1),
  RATE_LIMIT_API_PER_MINUTE: int(600, 1),
  /** Backstop of the per-process read cache (sessions, roles, server views); writes evict at once through NOTIFY. 0: no cache. */
  API_READ_CACHE_SECONDS: int(10, 0, 300),
  PASSWORD_EXPORTS_PER_HOUR: int(20, 1),

  SCW_ACCESS_KEY: optionalString,
  SCW_SECRET_KEY: optionalString,
  SCW_DEFAULT_PROJECT_ID: optionalString,
  SCW_API_URL: optionalString,
  SCW_IMAGE: z.preprocess(emptyToUndefined, z.string().default('debian_bookworm')),
  SCW_S3_ENDPOINT: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^https?:\/\/[^\s/]+$/, 'an http(s) base URL with no path, `{region}` allowed (https://s3.{region}.scw.cloud)')
      .optional(),
  ),
  SCW_S3_SERVER_ENDPOINT: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^https?:\/\/[^\s/]+$/, 'an http(s) base URL with no path, `{region}` allowed')
      .optional(),
  ),
  BACKUP_BUCKET_PREFIX: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,11}$/, 'lower-case letters, digits and hyphens, at most 12')
      .default('mp-backup-'),
  ),
  /** How long Scaleway's per-zone catalogue (types sold, stock) is trusted before it is read again. */
  SCW_CATALOGUE_TTL_SECONDS: int(600, 0, 24 * 3600),
  CLOUDFLARE_API_TOKEN: optionalString,
  CLOUDFLARE_ACCOUNT_ID: optionalString,
  CLOUDFLARE_API_URL: optionalString,
  STRIPE_SECRET_KEY: optionalString,
  STRIPE_WEBHOOK_SECRET: optionalString,
  STRIPE_API_URL: optionalString,
  /** EU VAT at the hosted checkout: Stripe Tax computes it, the buyer's VAT ID and billing address are asked for. */
  STRIPE_AUTOMATIC_TAX: bool(true),
  STRIPE_TAX_ID_COLLECTION: bool(true),
  STRIPE_BILLING_ADDRESS_COLLECTION: z.preprocess(emptyToUndefined, z.enum(['auto', 'required']).default('required')),
  /** Days a server whose subscription ended (cancelled, or unpaid for good) is kept suspended, with its data, before it is deleted. */
  BILLING_GRACE_DAYS: int(14, 1, 365),
  DNS_RESOLVERS: list([]),
  /** The addresses (or CIDRs) mailplane's workers reach the servers from: SSH is open to these only. */
  CONTROL_PLANE_ADDRESSES: list([]),
  /**
   * Ranges a mailbox import may connect to although they are not public (private, documentation): empty
   * by default, so imports reach the internet only. The real-host tests list their private test networks.
   */
  MAILBOX_IMPORT_ALLOWED_RANGES: list([]),
  DNSBL_ZONES: list([]),
  /** A Spamhaus Data Query Service key (26 characters): the Spamhaus lists are asked through DQS. */
  SPAMHAUS_DQS_KEY: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[a-z0-9]{26}$/i, 'the 26 letters and digits of the key in the Spamhaus DQS account')
      .optional(),
  ),

  OFFERED_ZONES: list([...ZONES]),
  PLANS: optionalString,
  DMARC_RUA: optionalString,
  ACME_EMAIL: optionalString,
  ACME_DIRECTORY_URL: z.preprocess(emptyToUndefined, z.url({ protocol: /^https$/ }).optional()),

  SANDBOX_LISTED_IPS: list([]),
  SANDBOX_LIST_FIRST_IPS: int(0, 0, 10),
  SANDBOX_URL: optionalString,
  /** Outbound SMTP closed on every sandbox server (Scaleway's default) until `mailplane sandbox smtp-open`. */
  SANDBOX_SMTP_BLOCKED: bool(false),
  /** manual: sandbox zones stay pending until `mailplane sandbox activate-zone DOMAIN` (the customer moved the nameservers). */
  SANDBOX_ZONE_ACTIVATION: z.preprocess(emptyToUndefined, z.enum(['immediate', 'manual']).default('immediate')),
  /** registrar: sandbox DNSSEC stays pending until `mailplane sandbox add-ds DOMAIN` (the customer added the DS), then SANDBOX_DNSSEC_DELAY_SECONDS. */
  SANDBOX_DNSSEC_ACTIVATION: z.preprocess(emptyToUndefined, z.enum(['immediate', 'registrar']).default('immediate')),
  SANDBOX_DNSSEC_DELAY_SECONDS: int(0, 0, 7 * 24 * 3600),
  /** Pending zones the sandbox Cloudflare account may hold before it refuses new ones (Cloudflare: about 50). */
  SANDBOX_PENDING_ZONE_LIMIT: int(50, 0, 100_000),
  /** emulated: SSH hosts answer the scripts with simulated results; container: real Debian 12 machines (root). */
  SANDBOX_HOSTS: z.enum(['emulated', 'container']).default('emulated'),
  SANDBOX_HOSTS_CACHE_DIR: z.string().min(1).default('/var/cache/mailplane'),
  SANDBOX_DEBIAN_MIRROR: z.url({ protocol: /^http$/ }).default('http://deb.debian.org/debian'),
  PROVISIONING_RETRY_BASE_MS: int(2000, 1, 600_000),
  PROVISIONING_RETRY_MAX_MS: int(300_000, 1, 3_600_000),
  PROVISIONING_MAX_ATTEMPTS: int(8, 1, 100),
  PROVISIONING_POLL_MS: int(5000, 1, 600_000),
  /** How often a step waiting on a person (nameservers, outbound SMTP) looks again. */
  PROVISIONING_WAIT_RECHECK_SECONDS: int(900, 1, 24 * 3600),
  /** Zones that always keep a pre-baked mail-server image (baked at worker start, rebaked weekly and on a package change). */
  MAIL_IMAGE_ZONES: list([]),
  JOBS_SUPERVISE_SECONDS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(3600).optional()),
  JOBS_POLL_SECONDS: z.preprocess(emptyToUndefined, z.coerce.number().min(0.5).max(60).default(1)),

  ALERT_WEBHOOK_URL: z.preprocess(emptyToUndefined, z.url().optional()),
  ALERT_WEBHOOK_SECRET: optionalString,
  ALERT_SMTP_URL: z.preprocess(emptyToUndefined, z.url().optional()),
  ALERT_EMAIL_FROM: optionalString,
  ALERT_EMAIL_TO: list([]),
  ALERT_RETRY_BASE_MS: int(30_000, 1, 3_600_000),
  ALERT_RETRY_MAX_MS: int(3_600_000, 1, 24 * 3_600_000),
  ALERT_MAX_ATTEMPTS: int(12, 1, 100),
  MONITOR_INTERVAL_MINUTES: int(60, 1, 24 * 60),
  MONITOR_ZONE_ERROR_THRESHOLD: int(5, 1, 1000),
  MONITOR_HISTORY_DAYS: int(30, 1, 3650),
  AUTO_ROTATE_LISTED: bool(false),
  RECONCILE_CRON: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^\S+( \S+){4,5}$/, 'a cron expression (5 or 6 fields)')
      .default('41 * * * *'),
  ),
  METRICS_TOKEN: optionalString,

  MAIL_SMTP_URL: z.preprocess(emptyToUndefined, z.url({ protocol: /^smtps?$/ }).optional()),
  MAIL_FROM: z.preprocess(emptyToUndefined, z.string().default('mailplane <no-reply@mailplane.localhost>')),
  HEALTH_CHECK_INTERVAL_MINUTES: int(15, 1, 24 * 60),
  HEALTH_TRUSTED_CA_FILE: optionalString,
  MAILPLANE_RELEASE: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9._+-]{1,64}$/, 'letters, digits and . _ + - (at most 64)')
      .optional(),
  ),
  MAILSTACK_TEMPLATES_DIR: optionalString,
  DRIFT_CHECK_INTERVAL_MINUTES: int(60, 1, 7 * 24 * 60),
  ROLLOUT_CANARY_PERCENT: int(10, 1, 100),
  ROLLOUT_WAVE_SIZE: int(10, 1, 1000),
  MAINTENANCE_DEFAULT_WINDOW: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d\+\d{1,4}$/, 'HH:MM+minutes (UTC), e.g. 03:00+120')
      .default('03:00+120'),
  ),
  BACKUP_KEEP_DAILY: int(7, 1, 365),
  BACKUP_KEEP_WEEKLY: int(4, 0, 520),
  BACKUP_KEEP_MONTHLY: int(6, 0, 240),
  BACKUP_GRACE_DAYS: int(30, 0, 3650),
  BACKUP_NONCURRENT_RETENTION_DAYS: int(2, 1, 365),
  BACKUP_FRESH_MINUTES: int(30, 0, 24 * 60),
  BACKUP_RESTIC_BINARY: z.preprocess(emptyToUndefined, z.string().default('restic')),
  DKIM_ROTATION_DAYS: int(90, 0, 3650),
  DKIM_OVERLAP_DAYS: int(7, 1, 365),
  DKIM_DELETE_AFTER_DAYS: int(30, 2, 3650),
  DKIM_ED25519: bool(true),
  TLSA_ROLLOVER_WAIT_SECONDS: int(900, 0, 7 * 86_400),
});

export interface Config {
  env: 'development' | 'production' | 'test';
  http: { host: string; port: number; publicUrl: string; trustProxy: boolean; bodyLimitBytes: number; readCacheMs: number };
  log: { level: string; pretty: boolean };
  db: { url: string | null; dataDir: string };
  auth: {
    /** null until resolved by dev-secrets in development. */
    sessionSecret: string | null;
    sessionTtlSeconds: number;
    invitationTtlSeconds: number;
    /** Invitations a workspace may create in any 24 hours. */
    invitationsPerWorkspacePerDay: number;
    /** Between "erase this workspace" and the erasure starting (owners may cancel); 0 starts at once. */
    workspaceErasureGraceMs: number;
    rateLimitAuthPerMinute: number;
    rateLimitApiPerMinute: number;
    /** Mailbox password exports per person per hour. */
    passwordExportsPerHour: number;
  };
  /** "id:base64,id:base64" (first active), or null until resolved (key file / dev secrets). */
  vault: { masterKeys: string | null; keyFile: string | null };
  scaleway: { accessKey: string; secretKey: string; projectId: string; apiUrl: string | undefined } | null;
  scalewayImage: string;
  /**
   * Backup storage (Scaleway Object Storage, same credentials as Scaleway). Endpoints may hold `{region}`;
   * null: https://s3.{region}.scw.cloud, or the sandbox's emulator. serverEndpoint: what servers use, default endpoint.
   */
  objectStorage: { endpoint: string | null; serverEndpoint: string | null; bucketPrefix: string };
  scalewayCatalogueTtlMs: number;
  cloudflare: { apiToken: string; accountId: string; apiUrl: string | undefined } | null;
  stripe: { secretKey: string; webhookSecret: string; apiUrl: string | undefined } | null;
  /** Checkout tax collection and what happens when a subscription stops being paid (src/billing). */
  billing: {
    automaticTax: boolean;
    taxIdCollection: boolean;
    billingAddressCollection: 'auto' | 'required';
    /** How long a suspended server of an ended subscription keeps its data before it is deprovisioned. */
    graceMs: number;
  };
  dns: { resolvers: string[]; dnsblZones: string[]; spamhausDqsKey: string | null };
  /** Where mailplane reaches its servers from; empty: the sandbox's own addresses (real Scaleway needs them set). */
  controlPlane: { addresses: string[] };
  /** Mailbox imports (src/mailboxes/import-source.ts): non-public ranges they may reach anyway (default none). */
  mailboxImport: { allowedRanges: string[] };
  /**
   * testDomainsAllowed: customers may use `.test` / `.example` domains, because DNS is the sandbox's
   * emulator (no Cloudflare credentials, or its API on loopback) and this is not production.
   */
  product: { zones: string[]; plans: Plan[]; dmarcRua: string | null; acmeEmail: string | null; acmeDirectoryUrl: string | null; testDomainsAllowed: boolean };
  /** `url`: the control API of a sandbox run by another process (`mailplane sandbox`). */
  sandbox: {
    listedIps: string[];
    listFirstIps: number;
    url: string | null;
    hosts: { mode: 'emulated' | 'container'; cacheDir: string; mirror: string };
    smtpBlocked: boolean;
    zoneActivation: 'immediate' | 'manual';
    dnssecActivation: 'immediate' | 'registrar';
    dnssecDelaySeconds: number;
    pendingZoneLimit: number;
  };
  /** How often a worker looks for jobs of dead workers (heartbeat lost); null = pg-boss default. */
  /** pollSeconds bounds how late a delayed job (a retry after backoff) starts. */
  jobs: { superviseIntervalSeconds: number | null; pollSeconds: number };
  /** Step retries (exponential backoff with jitter between base and max) and poll loops. */
  provisioning: { retryBaseMs: number; retryMaxMs: number; maxAttempts: number; pollMs: number; waitRecheckMs: number; imageZones: string[] };
  /** Blacklist monitoring, alert delivery, reconciliation and metrics (src/ops). */
  ops: {
    webhook: { url: string; secret: string } | null;
    email: { smtpUrl: string; from: string; to: string[] } | null;
    delivery: { retryBaseMs: number; retryMaxMs: number; maxAttempts: number };
    monitorIntervalMinutes: number;
    zoneErrorThreshold: number;
    /** Days of DNSBL verdicts kept (the newest of each address and zone is always kept). */
    historyDays: number;
    autoRotateListed: boolean;
    reconcileCron: string;
    /** null: /metrics answers loopback clients only. */
    metricsToken: string | null;
  };
  /** Product mail (src/mail): smtpUrl null = kept in the sandbox outbox (/sandbox/mail). */
  mail: { smtpUrl: string | null; from: string };
  /** Server health checks (src/health); trustedCaFile: PEM roots they trust besides Node's (a staging or sandbox ACME CA). */
  health: { intervalMinutes: number; trustedCaFile: string | null };
  /**
   * Day two of the fleet (src/fleet): the release recorded with each stack version (default: package.json's
   * version), where the mail-stack templates are read from (null: the bundled templates/), the drift check's
   * interval, rollout waves, and the maintenance window of servers whose customer chose none.
   */
  fleet: {
    release: string | null;
    templatesDir: string | null;
    driftIntervalMinutes: number;
    canaryPercent: number;
    waveSize: number;
    defaultWindow: { startMinute: number; durationMinutes: number };
  };
  /** Server backups (src/backups). */
  backups: {
    /** `restic forget --prune` keeps this many daily, weekly and monthly snapshots. */
    retention: { daily: number; weekly: number; monthly: number };
    /** A deprovisioned server's final backup is kept this many days, then deleted. */
    graceDays: number;
    /** Overwritten objects stay this long as noncurrent versions (the storage's lifecycle rule). */
    noncurrentRetentionDays: number;
    /** A backup before a change is skipped when a successful one is younger than this. */
    freshMinutes: number;
    resticBinary: string;
  };
  /** DKIM key rotation (provisioning/dkim/): days are counted from the rotation that retires a key. */
  dkim: {
    /** 0: no scheduled rotation (rotate now and emergency rotations still work). */
    rotationDays: number;
    /** The previous key stays published this long for mail in flight, then is revoked (`p=` empty). */
    overlapDays: number;
    /** Its record is deleted this long after the rotation. */
    deleteAfterDays: number;
    /** Sign with an Ed25519 key (RFC 8463) beside the RSA one. */
    ed25519: boolean;
  };
  /** A TLS key rollover waits this long between publishing both TLSA records and switching the key. */
  tlsaRolloverWaitMs: number;
}

function parseWindowSetting(v: string): { startMinute: number; durationMinutes: number } {
  const [hm, minutes] = v.split('+');
  const [h, m] = hm!.split(':').map(Number);
  return { startMinute: h! * 60 + m!, durationMinutes: Math.min(Math.max(Number(minutes), 1), 24 * 60) };
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

/** All-or-nothing groups: half a set of credentials is a mistake, not sandbox mode. */
function group<T>(problems: string[], name: string, fields: Record<string, string | undefined>, build: () => T): T | null {
  const present = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
  if (present.length === 0) return null;
  const missing = Object.keys(fields).filter((k) => fields[k] === undefined);
  if (missing.length > 0) {
    problems.push(`${name}: ${present.join(', ')} set but ${missing.join(', ')} missing (set all of them, or none for the sandbox)`);
    return null;
  }
  return build();
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const production = e.NODE_ENV === 'production';

  if (e.SESSION_SECRET !== undefined && Buffer.byteLength(e.SESSION_SECRET) < 32) {
    problems.push('SESSION_SECRET: must be at least 32 characters (e.g. `openssl rand -base64 48`)');
  }
  if (production && e.SESSION_SECRET === undefined) problems.push('SESSION_SECRET: required when NODE_ENV=production');
  if (production && e.VAULT_MASTER_KEYS === undefined && e.VAULT_MASTER_KEY_FILE === undefined) {
    problems.push('VAULT_MASTER_KEYS or VAULT_MASTER_KEY_FILE: required when NODE_ENV=production');
  }
  if (e.DKIM_DELETE_AFTER_DAYS <= e.DKIM_OVERLAP_DAYS) {
    problems.push('DKIM_DELETE_AFTER_DAYS: must be more days than DKIM_OVERLAP_DAYS (a key is revoked before its record is deleted)');
  }
  if (production && e.DATABASE_URL === undefined) problems.push('DATABASE_URL: required when NODE_ENV=production');
  if (production && e.MAIL_SMTP_URL === undefined)
    problems.push('MAIL_SMTP_URL: required when NODE_ENV=production (password resets and invitations are emailed)');

  const scaleway = group(
    problems,
    'Scaleway',
    {
      SCW_ACCESS_KEY: e.SCW_ACCESS_KEY,
      SCW_SECRET_KEY: e.SCW_SECRET_KEY,
      SCW_DEFAULT_PROJECT_ID: e.SCW_DEFAULT_PROJECT_ID,
    },
    () => ({ accessKey: e.SCW_ACCESS_KEY!, secretKey: e.SCW_SECRET_KEY!, projectId: e.SCW_DEFAULT_PROJECT_ID!, apiUrl: e.SCW_API_URL }),
  );
  const cloudflare = group(
    problems,
    'Cloudflare',
    {
      CLOUDFLARE_API_TOKEN: e.CLOUDFLARE_API_TOKEN,
      CLOUDFLARE_ACCOUNT_ID: e.CLOUDFLARE_ACCOUNT_ID,
    },
    () => ({ apiToken: e.CLOUDFLARE_API_TOKEN!, accountId: e.CLOUDFLARE_ACCOUNT_ID!, apiUrl: e.CLOUDFLARE_API_URL }),
  );
  const stripe = group(
    problems,
    'Stripe',
    {
      STRIPE_SECRET_KEY: e.STRIPE_SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: e.STRIPE_WEBHOOK_SECRET,
    },
    () => ({ secretKey: e.STRIPE_SECRET_KEY!, webhookSecret: e.STRIPE_WEBHOOK_SECRET!, apiUrl: e.STRIPE_API_URL }),
  );
  for (const a of e.CONTROL_PLANE_ADDRESSES) if (!isAddressOrCidr(a)) problems.push(`CONTROL_PLANE_ADDRESSES: "${a}" is not an IPv4/IPv6 address or CIDR`);
  for (const a of e.MAILBOX_IMPORT_ALLOWED_RANGES)
    if (!isAddressOrCidr(a)) problems.push(`MAILBOX_IMPORT_ALLOWED_RANGES: "${a}" is not an IPv4/IPv6 address or CIDR`);
  // Real Scaleway (no emulator URL): the servers' SSH would otherwise be open to nobody, or to everyone.
  if (scaleway && !scaleway.apiUrl && e.CONTROL_PLANE_ADDRESSES.length === 0) {
    problems.push(
      'CONTROL_PLANE_ADDRESSES: required with real Scaleway credentials (the addresses mailplane reaches its servers from; SSH is open to these only)',
    );
  }
  if (production && (!scaleway || !cloudflare || !stripe)) {
    problems.push('providers: NODE_ENV=production needs Scaleway, Cloudflare and Stripe credentials (sandbox is for development)');
  }

  const webhook = group(problems, 'Alert webhook', { ALERT_WEBHOOK_URL: e.ALERT_WEBHOOK_URL, ALERT_WEBHOOK_SECRET: e.ALERT_WEBHOOK_SECRET }, () => ({
    url: e.ALERT_WEBHOOK_URL!,
    secret: e.ALERT_WEBHOOK_SECRET!,
  }));
  if (webhook && Buffer.byteLength(webhook.secret) < 16) problems.push('ALERT_WEBHOOK_SECRET: must be at least 16 characters');
  const email = group(
    problems,
    'Alert email',
    {
      ALERT_SMTP_URL: e.ALERT_SMTP_URL,
      ALERT_EMAIL_FROM: e.ALERT_EMAIL_FROM,
      ALERT_EMAIL_TO: e.ALERT_EMAIL_TO.length > 0 ? e.ALERT_EMAIL_TO.join(',') : undefined,
    },
    () => ({ smtpUrl: e.ALERT_SMTP_URL!, from: e.ALERT_EMAIL_FROM!, to: e.ALERT_EMAIL_TO }),
  );
  if (e.METRICS_TOKEN !== undefined && Buffer.byteLength(e.METRICS_TOKEN) < 16) problems.push('METRICS_TOKEN: must be at least 16 characters');

  for (const z of e.MAIL_IMAGE_ZONES) {
    if (!(ZONES as readonly string[]).includes(z)) problems.push(`MAIL_IMAGE_ZONES: unknown zone "${z}" (known: ${ZONES.join(', ')})`);
  }
  const zones = e.OFFERED_ZONES.filter((z) => {
    if ((ZONES as readonly string[]).includes(z)) return true;
    problems.push(`OFFERED_ZONES: unknown zone "${z}" (known: ${ZONES.join(', ')})`);
    return false;
  });

  let plans = DEFAULT_PLANS;
  if (e.PLANS !== undefined) {
    try {
      const result = z.array(planSchema).min(1).safeParse(JSON.parse(e.PLANS));
      if (result.success) plans = result.data;
      else problems.push(...result.error.issues.map((i) => `PLANS[${i.path.join('.')}]: ${i.message}`));
    } catch {
      problems.push('PLANS: not valid JSON');
    }
  } else if (stripe && !/^http:\/\/127\.0\.0\.1[:/]/.test(stripe.apiUrl ?? '')) {
    // The sandbox's Stripe emulator (on loopback) knows the default plans' price ids; real Stripe does not.
    problems.push('PLANS: required with real Stripe credentials (the default plans carry sandbox price ids)');
  }

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env: e.NODE_ENV,
    http: {
      host: e.HOST,
      port: e.PORT,
      publicUrl: (e.PUBLIC_URL ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`).replace(/\/$/, ''),
      trustProxy: e.TRUST_PROXY,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      readCacheMs: e.API_READ_CACHE_SECONDS * 1000,
    },
    log: { level: e.LOG_LEVEL, pretty: !production },
    db: { url: e.DATABASE_URL ?? null, dataDir: e.MAILPLANE_DATA_DIR },
    auth: {
      sessionSecret: e.SESSION_SECRET ?? null,
      sessionTtlSeconds: e.SESSION_TTL_MINUTES * 60,
      invitationTtlSeconds: e.INVITATION_TTL_HOURS * 3600,
      invitationsPerWorkspacePerDay: e.INVITATIONS_PER_WORKSPACE_PER_DAY,
      workspaceErasureGraceMs: e.WORKSPACE_ERASURE_GRACE_HOURS * 3600_000,
      rateLimitAuthPerMinute: e.RATE_LIMIT_AUTH_PER_MINUTE,
      rateLimitApiPerMinute: e.RATE_LIMIT_API_PER_MINUTE,
      passwordExportsPerHour: e.PASSWORD_EXPORTS_PER_HOUR,
    },
    vault: { masterKeys: e.VAULT_MASTER_KEYS ?? null, keyFile: e.VAULT_MASTER_KEY_FILE ?? null },
    scaleway,
    scalewayImage: e.SCW_IMAGE,
    objectStorage: { endpoint: e.SCW_S3_ENDPOINT ?? null, serverEndpoint: e.SCW_S3_SERVER_ENDPOINT ?? null, bucketPrefix: e.BACKUP_BUCKET_PREFIX },
    scalewayCatalogueTtlMs: e.SCW_CATALOGUE_TTL_SECONDS * 1000,
    cloudflare,
    stripe,
    billing: {
      automaticTax: e.STRIPE_AUTOMATIC_TAX,
      taxIdCollection: e.STRIPE_TAX_ID_COLLECTION,
      billingAddressCollection: e.STRIPE_BILLING_ADDRESS_COLLECTION,
      graceMs: e.BILLING_GRACE_DAYS * 24 * 3600_000,
    },
    dns: { resolvers: e.DNS_RESOLVERS, dnsblZones: e.DNSBL_ZONES, spamhausDqsKey: e.SPAMHAUS_DQS_KEY ?? null },
    controlPlane: { addresses: e.CONTROL_PLANE_ADDRESSES },
    mailboxImport: { allowedRanges: e.MAILBOX_IMPORT_ALLOWED_RANGES },
    product: {
      zones,
      plans,
      dmarcRua: e.DMARC_RUA ?? null,
      acmeEmail: e.ACME_EMAIL ?? null,
      acmeDirectoryUrl: e.ACME_DIRECTORY_URL ?? null,
      testDomainsAllowed: !production && (cloudflare === null || /^http:\/\/(127\.\d+\.\d+\.\d+|\[::1\]|localhost)[:/]/.test(cloudflare.apiUrl ?? '')),
    },
    sandbox: {
      listedIps: e.SANDBOX_LISTED_IPS,
      listFirstIps: e.SANDBOX_LIST_FIRST_IPS,
      url: e.SANDBOX_URL ?? null,
      hosts: { mode: e.SANDBOX_HOSTS, cacheDir: e.SANDBOX_HOSTS_CACHE_DIR, mirror: e.SANDBOX_DEBIAN_MIRROR },
      smtpBlocked: e.SANDBOX_SMTP_BLOCKED,
      zoneActivation: e.SANDBOX_ZONE_ACTIVATION,
      dnssecActivation: e.SANDBOX_DNSSEC_ACTIVATION,
      dnssecDelaySeconds: e.SANDBOX_DNSSEC_DELAY_SECONDS,
      pendingZoneLimit: e.SANDBOX_PENDING_ZONE_LIMIT,
    },
    jobs: { superviseIntervalSeconds: e.JOBS_SUPERVISE_SECONDS ?? null, pollSeconds: e.JOBS_POLL_SECONDS },
    provisioning: {
      retryBaseMs: e.PROVISIONING_RETRY_BASE_MS,
      retryMaxMs: e.PROVISIONING_RETRY_MAX_MS,
      maxAttempts: e.PROVISIONING_MAX_ATTEMPTS,
      pollMs: e.PROVISIONING_POLL_MS,
      waitRecheckMs: e.PROVISIONING_WAIT_RECHECK_SECONDS * 1000,
      imageZones: e.MAIL_IMAGE_ZONES,
    },
    ops: {
      webhook,
      email,
      delivery: { retryBaseMs: e.ALERT_RETRY_BASE_MS, retryMaxMs: e.ALERT_RETRY_MAX_MS, maxAttempts: e.ALERT_MAX_ATTEMPTS },
      monitorIntervalMinutes: e.MONITOR_INTERVAL_MINUTES,
      zoneErrorThreshold: e.MONITOR_ZONE_ERROR_THRESHOLD,
      historyDays: e.MONITOR_HISTORY_DAYS,
      autoRotateListed: e.AUTO_ROTATE_LISTED,
      reconcileCron: e.RECONCILE_CRON,
      metricsToken: e.METRICS_TOKEN ?? null,
    },
    mail: { smtpUrl: e.MAIL_SMTP_URL ?? null, from: e.MAIL_FROM },
    health: { intervalMinutes: e.HEALTH_CHECK_INTERVAL_MINUTES, trustedCaFile: e.HEALTH_TRUSTED_CA_FILE ?? null },
    fleet: {
      release: e.MAILPLANE_RELEASE ?? null,
      templatesDir: e.MAILSTACK_TEMPLATES_DIR ?? null,
      driftIntervalMinutes: e.DRIFT_CHECK_INTERVAL_MINUTES,
      canaryPercent: e.ROLLOUT_CANARY_PERCENT,
      waveSize: e.ROLLOUT_WAVE_SIZE,
      defaultWindow: parseWindowSetting(e.MAINTENANCE_DEFAULT_WINDOW),
    },
    backups: {
      retention: { daily: e.BACKUP_KEEP_DAILY, weekly: e.BACKUP_KEEP_WEEKLY, monthly: e.BACKUP_KEEP_MONTHLY },
      graceDays: e.BACKUP_GRACE_DAYS,
      noncurrentRetentionDays: e.BACKUP_NONCURRENT_RETENTION_DAYS,
      freshMinutes: e.BACKUP_FRESH_MINUTES,
      resticBinary: e.BACKUP_RESTIC_BINARY,
    },
    dkim: { rotationDays: e.DKIM_ROTATION_DAYS, overlapDays: e.DKIM_OVERLAP_DAYS, deleteAfterDays: e.DKIM_DELETE_AFTER_DAYS, ed25519: e.DKIM_ED25519 },
    tlsaRolloverWaitMs: e.TLSA_ROLLOVER_WAIT_SECONDS * 1000,
  };
}
