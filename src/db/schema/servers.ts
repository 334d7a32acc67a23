/** Servers, their IP history, DNS records, DKIM keys and provisioning runs. */
import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { subscriptions } from './billing.ts';
import { workspaces } from './accounts.ts';
import type { DnssecKey } from '../../providers/dns/interface.ts';

/** waiting: provisioning is held by something only a person can do (see the steps' waitingFor). */
export const SERVER_STATUSES = ['provisioning', 'waiting', 'ready', 'failed', 'suspended', 'deprovisioning', 'deleted'] as const;
export type ServerStatus = (typeof SERVER_STATUSES)[number];

export interface ServerWarning {
  code: string;
  message: string;
  at: string;
}

/** What the DNS provider reports of a zone's DNSSEC key (some registries ask for it besides the DS). */
export type DnssecKeyFacts = DnssecKey;

export const servers = pgTable(
  'servers',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    subscriptionId: uuid('subscription_id').references(() => subscriptions.id, { onDelete: 'set null' }),
    planId: text('plan_id').notNull(),
    zone: text('zone').notNull(),
    domain: text('domain').notNull(),
    hostname: text('hostname').notNull(),
    status: text('status', { enum: SERVER_STATUSES }).notNull().default('provisioning'),
    /** Why the server is suspended or failed, for the customer. */
    statusReason: text('status_reason'),
    providerServerId: text('provider_server_id'),
    ipv4: text('ipv4'),
    ipv6: text('ipv6'),
    /** Pinned before first contact; never learned from the host. */
    sshHostKeyFingerprint: text('ssh_host_key_fingerprint'),
    sshHostPublicKey: text('ssh_host_public_key'),
    sshHostPrivateKeySecretId: uuid('ssh_host_private_key_secret_id'),
    deployPublicKey: text('deploy_public_key'),
    deployPrivateKeySecretId: uuid('deploy_private_key_secret_id'),
    /**
     * Who mailplane logs in as over SSH. A new instance knows only root (cloud-init puts the deploy
     * key there); the first session creates the unprivileged deploy user, proves it can log in and
     * use sudo, and records it here before anything turns root login off. Rows from before the deploy
     * user read 'root' and move the same way at their next session (provisioning/remote.ts).
     */
    sshUser: text('ssh_user').notNull().default('root'),
    webmailKeySecretId: uuid('webmail_key_secret_id'),
    dnsZoneId: text('dns_zone_id'),
    nameServers: text('name_servers').array(),
    dnssecStatus: text('dnssec_status'),
    dnssecDs: text('dnssec_ds'),
    /** What registries may ask for besides the DS (key tag, algorithm, digest, public key, flags), as Cloudflare reports it. */
    dnssecKey: jsonb('dnssec_key').$type<DnssecKeyFacts>(),
    /** When DNSSEC was last read from Cloudflare (the watch after `ready` waits for the registrar's DS). */
    dnssecCheckedAt: timestamp('dnssec_checked_at', { withTimezone: true }),
    /** When the domain's existing records were imported into the zone (Cloudflare's scan), before the nameserver move. */
    dnsImportedAt: timestamp('dns_imported_at', { withTimezone: true }),
    /** The customer's own SPF terms (their other senders: include:, ip4:, a, mx…), merged into the SPF mailplane publishes. */
    spfTerms: text('spf_terms').array().notNull().default(sql`'{}'::text[]`),
    tlsSpkiSha256: text('tls_spki_sha256'),
    /** A TLS key rollover under way (provisioning/steps/roll-tls-key.ts): the next key's SPKI sha256, made on the host. */
    tlsNextSpkiSha256: text('tls_next_spki_sha256'),
    /** When the TLSA records of both keys were published; the key switches once resolvers' caches of the old set expire. */
    tlsNextTlsaAt: timestamp('tls_next_tlsa_at', { withTimezone: true }),
    warnings: jsonb('warnings').$type<ServerWarning[]>().notNull().default([]),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('servers_workspace_idx').on(t.workspaceId),
    index('servers_status_idx').on(t.status),
    // A domain is served by at most one live server.
    uniqueIndex('servers_live_domain_key').on(t.domain).where(sql`status <> 'deleted'`),
    uniqueIndex('servers_subscription_key').on(t.subscriptionId),
    // A live server found by its address or hostname (the sandbox's probe answers health checks this
    // way, three lookups per run: without these, each read all 10,000 servers of bench/fleet.md).
    index('servers_live_ipv4_idx').on(t.ipv4).where(sql`status <> 'deleted'`),
    index('servers_live_ipv6_idx').on(t.ipv6).where(sql`status <> 'deleted'`),
    index('servers_live_hostname_idx').on(t.hostname).where(sql`status <> 'deleted'`),
  ],
);

export const serverIps = pgTable(
  'server_ips',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    family: text('family', { enum: ['ipv4', 'ipv6'] }).notNull(),
    providerIpId: text('provider_ip_id').notNull(),
    address: text('address').notNull(),
    prefix: text('prefix'),
    /** reserved → clean | listed → (active | released); unknown means the last check was inconclusive. */
    state: text('state', { enum: ['reserved', 'clean', 'listed', 'unknown', 'active', 'released'] })
      .notNull()
      .default('reserved'),
    listings: jsonb('listings').$type<Array<{ zone: string; codes: string[]; meaning: string[] }>>().notNull().default([]),
    checkedAt: timestamp('checked_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    releasedAt: timestamp('released_at', { withTimezone: true }),
  },
  (t) => [index('server_ips_server_idx').on(t.serverId), uniqueIndex('server_ips_provider_key').on(t.providerIpId)],
);

/**
 * A DKIM key generation's life (provisioning/dkim/): next (published, read back, not yet signing) →
 * active (Rspamd signs with it) → retiring (still published for mail in flight) → revoked (`p=` empty)
 * → deleted (record gone). `retired` is a state of older rows only. One row is one generation: the RSA key
 * and, beside it, the Ed25519 key (RFC 8463) under its own selector; both move together.
 */
export const DKIM_KEY_STATES = ['next', 'active', 'retiring', 'revoked', 'deleted', 'retired'] as const;
export type DkimKeyState = (typeof DKIM_KEY_STATES)[number];

export const dkimKeys = pgTable(
  'dkim_keys',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    domain: text('domain').notNull(),
    selector: text('selector').notNull(),
    publicKey: text('public_key').notNull(),
    privateKeySecretId: uuid('private_key_secret_id').notNull(),
    state: text('state', { enum: DKIM_KEY_STATES }).notNull().default('active'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** The Ed25519 key signed beside the RSA one (null: a generation made without it). Public key: the raw 32 bytes, base64. */
    ed25519Selector: text('ed25519_selector'),
    ed25519PublicKey: text('ed25519_public_key'),
    ed25519PrivateKeySecretId: uuid('ed25519_private_key_secret_id'),
    /** Cloudflare's ids of this generation's TXT records (rsa, ed25519), for revoking and deleting them. */
    providerRecordIds: jsonb('provider_record_ids').$type<{ rsa?: string; ed25519?: string }>().notNull().default({}),
    /** When a resolver other than Cloudflare's API answered the published records. */
    confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
    activatedAt: timestamp('activated_at', { withTimezone: true }),
    retiredAt: timestamp('retired_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    /** When the DKIM sweep moves this key on: active → rotated, retiring → revoked, revoked → deleted. */
    nextTransitionAt: timestamp('next_transition_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('dkim_active_key').on(t.serverId, t.domain).where(sql`state = 'active'`),
    index('dkim_keys_next_transition_idx').on(t.nextTransitionAt).where(sql`next_transition_at is not null`),
  ],
);

export const dnsRecords = pgTable(
  'dns_records',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    /** Stable role of the record (a_mail, mx, spf, dkim, …): one desired record per purpose. */
    purpose: text('purpose').notNull(),
    type: text('type').notNull(),
    name: text('name').notNull(),
    content: text('content').notNull(),
    priority: integer('priority'),
    providerRecordId: text('provider_record_id'),
    state: text('state', { enum: ['published', 'deleted'] })
      .notNull()
      .default('published'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('dns_records_purpose_key').on(t.serverId, t.purpose)],
);

/**
 * Records of the customer's zone that are not mailplane's: imported from the domain's DNS before the
 * nameserver move (Cloudflare's scan) or added by the customer. mailplane never touches them when it
 * publishes or deletes its own; changes are written here first and applied by the `dns.sync` job.
 */
export const customerDnsRecords = pgTable(
  'customer_dns_records',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    source: text('source', { enum: ['imported', 'customer'] }).notNull(),
    type: text('type').notNull(),
    name: text('name').notNull(),
    content: text('content').notNull(),
    priority: integer('priority'),
    ttl: integer('ttl').notNull().default(1),
    providerRecordId: text('provider_record_id'),
    /**
     * pending: to be written at Cloudflare; deleting: to be removed there; published / failed: the last sync's result;
     * deleted: removed at the customer's request, kept so that a later scan does not import it again.
     */
    state: text('state', { enum: ['pending', 'published', 'deleting', 'failed', 'deleted'] })
      .notNull()
      .default('pending'),
    error: text('error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('customer_dns_records_server_idx').on(t.serverId)],
);

export const RUN_KINDS = ['provision', 'deprovision', 'rotate_ip', 'rebuild', 'rotate_dkim', 'roll_tls_key', 'upgrade'] as const;
export const RUN_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
/** waiting: re-checked periodically without spending attempts (a person must act; see waitingFor). */
export const STEP_STATUSES = ['pending', 'queued', 'running', 'retrying', 'waiting', 'succeeded', 'failed'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** What a waiting step waits for, shown to the customer, support and ops. */
export interface StepWait {
  /** Stable reason: zone_pending, outbound_smtp_blocked, … */
  code: string;
  /** Whose move it is. */
  party: 'customer' | 'ops';
  message: string;
  /** What to do, in a sentence. */
  action: string;
  since: string;
  checkedAt: string;
  nextCheckAt: string;
  checks: number;
  /** Open ops alert while waiting (resolved when the wait is over). */
  alertKey?: string;
  details?: Record<string, unknown>;
}

export const provisioningRuns = pgTable(
  'provisioning_runs',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    serverId: uuid('server_id')
      .notNull()
      .references(() => servers.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: RUN_KINDS }).notNull(),
    status: text('status', { enum: RUN_STATUSES }).notNull().default('running'),
    error: text('error'),
    params: jsonb('params').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('runs_server_idx').on(t.serverId, t.createdAt)],
);

export const provisioningSteps = pgTable(
  'provisioning_steps',
  {
    id: uuid('id').primaryKey().default(sql`gen_random_uuid()`),
    runId: uuid('run_id')
      .notNull()
      .references(() => provisioningRuns.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    dependsOn: text('depends_on').array().notNull(),
    status: text('status', { enum: STEP_STATUSES }).notNull().default('pending'),
    attempt: integer('attempt').notNull().default(0),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    error: text('error'),
    retryable: boolean('retryable'),
    /** Bounded: the last LOG_LIMIT characters of the step's output. */
    log: text('log').notNull().default(''),
    output: jsonb('output').$type<Record<string, unknown>>().notNull().default({}),
    durationMs: integer('duration_ms'),
    waitingFor: jsonb('waiting_for').$type<StepWait>(),
  },
  (t) => [uniqueIndex('steps_run_name_key').on(t.runId, t.name)],
);
