/**
 * The typed job catalog: every queue, its payload schema and its queue options.
 * Payloads are validated when a job is picked up, so a malformed job fails
 * loudly instead of half-running.
 *
 * Retries are pg-boss's, per queue, here: a handler that throws is run again
 * after `retryDelay` seconds (doubled per retry with jitter when `retryBackoff`,
 * capped at `retryDelayMax`), `retryLimit` times; the attempt is the job's
 * `retryCount` + 1. A handler that knows retrying cannot help throws GiveUp
 * (src/jobs/give-up.ts). A job that fails for good moves to its queue's
 * `deadLetter` queue (same payload), whose handler writes what the final
 * failure means (an alert, a row marked failed): JobQueue.workFailures.
 *
 * Two kinds of repetition are not retries and stay out of these policies:
 * provisioning steps (the step table holds their attempts, backoff with the
 * provider's Retry-After, reruns, resumes and waits of days: provisioning/engine.ts)
 * and waits on someone else (a bank debit settling, a customer's nameservers),
 * which are re-checks scheduled by the domain, not failures.
 */
import { z } from 'zod';
import type { Queue } from 'pg-boss';

/** A queue's retry policy (pg-boss queue options; delays in seconds). */
export type RetryPolicy = Pick<Queue, 'retryLimit' | 'retryDelay' | 'retryBackoff' | 'retryDelayMax'>;

export interface JobDefinition<S extends z.ZodType> {
  schema: S;
  queue: Omit<Queue, 'name'>;
  /** Handler concurrency per worker process. */
  concurrency: number;
  /**
   * A handler slot that finishes a job takes the queue's next ready job itself (JobQueue.work),
   * instead of waiting for pg-boss's NOTIFY wake-up and fetch: for queues whose jobs enqueue the
   * next ones (a provisioning step's dependents), which takes the queue hop off their critical path.
   */
  handOff?: boolean;
}

const define = <S extends z.ZodType>(d: JobDefinition<S>) => d;

/**
 * A dead letter queue: its jobs are another queue's jobs that failed for good (pg-boss copies the
 * payload, so the schema is that queue's). Its handler's own failures (the database away) are retried.
 */
const failuresOf = <S extends z.ZodType>(schema: S) =>
  define({
    schema,
    queue: { retryLimit: 5, retryDelay: 30, retryBackoff: true, retryDelayMax: 600, expireInSeconds: 300 },
    concurrency: 1,
  });

const mailboxSyncJob = z.object({ serverId: z.uuid() });
const eraseWorkspaceJob = z.object({ workspaceId: z.uuid() });
const eraseUserJob = z.object({ userId: z.uuid() });
const backupJob = z.object({ serverId: z.uuid(), reason: z.string().regex(/^[a-z_:]{1,60}$/) });
const alertDeliveryJob = z.object({ deliveryId: z.uuid() });

export const JOB_CATALOG = {
  /** Housekeeping: expired sessions and invitations. Scheduled hourly. */
  'maintenance.cleanup': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 1, expireInSeconds: 300 },
    concurrency: 1,
  }),
  /** One attempt of one provisioning step (provisioning/engine.ts). */
  'provisioning.step': define({
    schema: z.object({ runId: z.uuid(), step: z.string().regex(/^[a-z_]{1,40}$/) }),
    // The engine retries a failed step itself, in the step table (provisioning/engine.ts); this
    // retryLimit only covers dead workers (heartbeat lost), whose step is then taken over.
    // notify off: with handOff, the sender announces its jobs and wakes only as many idle slots (src/jobs/wake-up.ts).
    queue: { retryLimit: 5, retryDelay: 1, expireInSeconds: 1800, heartbeatSeconds: 15, notify: false },
    concurrency: 16,
    handOff: true,
  }),
  /**
   * Push a server's mailbox set over SSH (src/mailboxes/sync.ts). One queued per server. Retried
   * while the server cannot be reached (1–2 s, then doubling, up to 6 attempts); then its mailboxes
   * are marked failed (mailboxes.sync_failed) and the 10-minute resync tries again.
   */
  'mailboxes.sync': define({
    schema: mailboxSyncJob,
    queue: {
      policy: 'stately',
      retryLimit: 5,
      retryDelay: 1,
      retryBackoff: true,
      retryDelayMax: 300,
      expireInSeconds: 900,
      heartbeatSeconds: 30,
      deadLetter: 'mailboxes.sync_failed',
    },
    concurrency: 8,
  }),
  'mailboxes.sync_failed': failuresOf(mailboxSyncJob),
  /** Every 10 minutes: one more sync for servers whose mailboxes stayed pending or failed. */
  'mailboxes.resync': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 1, expireInSeconds: 300 },
    concurrency: 1,
  }),
  /** Read each mailbox's storage use and its app passwords' last use from one server (src/mailboxes/usage.ts). */
  'mailboxes.collect_usage': define({
    schema: z.object({ serverId: z.uuid() }),
    queue: { policy: 'stately', retryLimit: 2, retryDelay: 30, expireInSeconds: 300 },
    // 10,000 servers every 15 minutes are ~670 SSH sessions a minute (bench/fleet.md).
    concurrency: 8,
  }),
  /**
   * One import of a mailbox from another provider (src/mailboxes/import-run.ts). Not retried on failure:
   * the old password leaves the vault when the run ends, and a new run asks for it again. retryLimit
   * covers a worker that died mid-run only (the password is still held then, and the run is additive).
   */
  'mailboxes.import': define({
    schema: z.object({ importId: z.uuid() }),
    queue: { policy: 'stately', retryLimit: 2, retryDelay: 60, expireInSeconds: 7 * 3600, heartbeatSeconds: 60 },
    concurrency: 2,
  }),
  /** Every minute: the usage collections due (each ready server every 15 minutes, src/mailboxes/usage.ts). */
  'mailboxes.collect_usage_sweep': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 1, expireInSeconds: 300 },
    concurrency: 1,
  }),
  /**
   * Apply a server's DNS changes at Cloudflare: the customer's own records (pending / deleting rows of
   * customer_dns_records) and the SPF record with the customer's terms (provisioning/customer-records-sync.ts).
   * One queued per server; pg-boss retries a failed attempt with backoff (every attempt redoes the idempotent sync).
   */
  'dns.sync': define({
    schema: z.object({ serverId: z.uuid() }),
    queue: { policy: 'stately', retryLimit: 8, retryDelay: 15, retryBackoff: true, retryDelayMax: 900, expireInSeconds: 300 },
    concurrency: 4,
  }),
  /**
   * Every 10 minutes: DNSSEC of the ready servers whose DNSSEC is still pending (the customer has not
   * added the DS at their registrar yet); TLSA is published when it turns active (provisioning/dnssec-watch.ts).
   */
  'dns.dnssec_watch': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 0, expireInSeconds: 300 },
    concurrency: 1,
  }),
  /**
   * Erase a workspace: cancel billing, deprovision, then delete its rows (src/gdpr/erase.ts). An
   * attempt that finds Stripe away or servers still being deprovisioned fails and is retried (1–2 s,
   * doubling, at most 5 s apart: mostly it waits on mailplane's own deprovisioning, and finishes
   * within seconds of it); after 300 attempts (about 25 minutes) ops are alerted and the erasure
   * starts again (gdpr.erase_workspace_stuck): an erasure is owed, so it never stops for good.
   */
  'gdpr.erase_workspace': define({
    schema: eraseWorkspaceJob,
    queue: {
      policy: 'stately',
      retryLimit: 299,
      retryDelay: 1,
      retryBackoff: true,
      retryDelayMax: 5,
      expireInSeconds: 900,
      deadLetter: 'gdpr.erase_workspace_stuck',
    },
    concurrency: 4,
  }),
  'gdpr.erase_workspace_stuck': failuresOf(eraseWorkspaceJob),
  /** Every 5 minutes: starts the workspace erasures whose grace period is over (src/gdpr/erasure-grace.ts). */
  'gdpr.erasure_sweep': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 0, expireInSeconds: 600 },
    concurrency: 1,
  }),
  /** Erase an account once the workspaces it solely owned are gone (src/gdpr/erase.ts); retried as the workspace erasure is, and started again likewise. */
  'gdpr.erase_user': define({
    schema: eraseUserJob,
    queue: {
      policy: 'stately',
      retryLimit: 299,
      retryDelay: 1,
      retryBackoff: true,
      retryDelayMax: 5,
      expireInSeconds: 900,
      deadLetter: 'gdpr.erase_user_stuck',
    },
    concurrency: 4,
  }),
  'gdpr.erase_user_stuck': failuresOf(eraseUserJob),
  /**
   * Cancel and refund a subscription paid for a server that cannot exist, then tell the customer
   * (src/billing/refund-refused-payment.ts). pg-boss retries a failed attempt with backoff: every
   * attempt redoes the whole idempotent sequence.
   */
  'billing.refund_refused_payment': define({
    // settlingChecks: how many times a bank debit was found still settling (the job then comes back later).
    schema: z.object({ checkoutId: z.uuid(), stripeSubscriptionId: z.string().min(1), why: z.string(), settlingChecks: z.number().int().min(0).optional() }),
    queue: { retryLimit: 12, retryDelay: 30, retryBackoff: true, retryDelayMax: 3600, expireInSeconds: 300 },
    concurrency: 2,
  }),
  /** Cancel a Stripe subscription that must not bill again (a first payment that failed); retried with backoff. */
  'billing.cancel_subscription': define({
    schema: z.object({ stripeSubscriptionId: z.string().min(1), why: z.string() }),
    queue: { retryLimit: 12, retryDelay: 30, retryBackoff: true, retryDelayMax: 3600, expireInSeconds: 300 },
    concurrency: 2,
  }),
  /** Mail a workspace's owners and admins about their subscription: payment failed, suspended, reinstated (src/billing/notices.ts). */
  'billing.notify': define({
    schema: z.object({
      subscriptionId: z.uuid(),
      kind: z.enum(['payment_failed', 'suspended', 'reinstated', 'cancellation_scheduled', 'cancellation_undone', 'plan_changed']),
    }),
    queue: { retryLimit: 8, retryDelay: 60, retryBackoff: true, retryDelayMax: 3600, expireInSeconds: 300 },
    concurrency: 2,
  }),
  /**
   * After a plan change Stripe confirmed: the rebuild onto the plan's instance type and disk when they
   * differ (src/billing/resize-server.ts). Retried with backoff while the server cannot be rebuilt yet.
   */
  'billing.resize_server': define({
    schema: z.object({ serverId: z.uuid(), fromPlanId: z.string().min(1), toPlanId: z.string().min(1), changedAt: z.iso.datetime() }),
    queue: { retryLimit: 12, retryDelay: 60, retryBackoff: true, retryDelayMax: 3600, expireInSeconds: 300 },
    concurrency: 2,
  }),
  /** Every 15 minutes: deprovisions the suspended servers whose grace period is over (src/billing/grace.ts). */
  'billing.grace_sweep': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 0, expireInSeconds: 600 },
    concurrency: 1,
  }),
  /** Every minute: enqueues the blacklist checks of the servers whose slot is this minute (src/ops/monitor.ts). */
  'ops.monitor_sweep': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 0, expireInSeconds: 120 },
    concurrency: 1,
  }),
  /** Every IP of one live server against every DNSBL zone (src/ops/monitor.ts). */
  'ops.check_server': define({
    schema: z.object({ serverId: z.uuid() }),
    queue: { retryLimit: 2, retryDelay: 30, expireInSeconds: 300 },
    // Waits on the slowest DNSBL zone per address (bench/fleet.md).
    concurrency: 8,
  }),
  /**
   * One alert delivery (src/ops/alert-delivery.ts): a failed send is retried 30 s later, doubling up
   * to an hour, 12 attempts in all (ALERT_RETRY_BASE_MS, ALERT_RETRY_MAX_MS and ALERT_MAX_ATTEMPTS
   * replace these: src/config.ts); then the delivery is marked failed (ops.alert_delivery_failed).
   */
  'ops.alert_delivery': define({
    schema: alertDeliveryJob,
    queue: { retryLimit: 11, retryDelay: 30, retryBackoff: true, retryDelayMax: 3600, expireInSeconds: 120, deadLetter: 'ops.alert_delivery_failed' },
    concurrency: 4,
  }),
  'ops.alert_delivery_failed': failuresOf(alertDeliveryJob),
  /** Every minute: deliveries for alerts that have none yet, whichever code path opened or resolved them. */
  'ops.alert_outbox': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 0, expireInSeconds: 120 },
    concurrency: 1,
  }),
  /** Provider resources tagged mailplane vs the database (src/ops/reconcile.ts); scheduled as a dry run. */
  'ops.reconcile': define({
    schema: z.object({ apply: z.boolean().optional() }).passthrough(),
    queue: { retryLimit: 1, retryDelay: 60, expireInSeconds: 900 },
    concurrency: 1,
  }),
  /** Every minute: health runs for ready servers that are due, and the "ready" / "action needed" mails (src/health/sweep.ts). */
  'health.sweep': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 0, expireInSeconds: 120 },
    concurrency: 1,
  }),
  /** Every health check of one server, stored, with owners mailed about changes (src/health/run-checks.ts). */
  'health.check_server': define({
    schema: z.object({ serverId: z.uuid() }),
    queue: { policy: 'stately', retryLimit: 1, retryDelay: 60, expireInSeconds: 300 },
    // A run mostly waits (DNS, probes, SSH): 10,000 servers every 15 minutes plus one after each
    // drift check are ~830 runs a minute, more than 4 slots serve at ~0.3 s a run (bench/fleet.md).
    concurrency: 16,
  }),
  /** Every minute: DKIM keys whose next transition is due (rotation, revocation, deletion; src/servers/dkim-sweep.ts). */
  'dkim.sweep': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 0, expireInSeconds: 120 },
    concurrency: 1,
  }),
  /** One DKIM key moved on: retiring → revoked, or revoked → deleted. Retried with backoff (each attempt converges). */
  'dkim.advance': define({
    schema: z.object({ keyId: z.uuid() }),
    queue: { retryLimit: 8, retryDelay: 30, retryBackoff: true, retryDelayMax: 3600, expireInSeconds: 300 },
    concurrency: 2,
  }),
  /** Every minute: the backups, retention/check runs, drills and expiries due now (src/backups/schedule.ts). */
  'backups.sweep': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 0, expireInSeconds: 120 },
    concurrency: 1,
  }),
  /**
   * One backup of one server (src/backups/run-backup.ts). pg-boss retries a failed attempt itself,
   * with backoff (a storage or SSH outage passes); a backup that fails for good (its retries spent,
   * or its last attempt expired) opens a backup_failed alert (backups.run_failed).
   * Stately: one queued and one running per singleton key (server and day, or server and "manual").
   */
  'backups.run': define({
    schema: backupJob,
    queue: {
      policy: 'stately',
      retryLimit: 3,
      retryDelay: 300,
      retryBackoff: true,
      retryDelayMax: 3600,
      expireInSeconds: 3600,
      deadLetter: 'backups.run_failed',
    },
    concurrency: 4,
  }),
  'backups.run_failed': failuresOf(backupJob),
  /** `restic forget --prune` and `restic check` with the admin key (src/backups/maintenance.ts); retried by pg-boss. */
  'backups.maintain': define({
    schema: z.object({ serverId: z.uuid() }),
    queue: { policy: 'stately', retryLimit: 2, retryDelay: 600, retryBackoff: true, retryDelayMax: 3600, expireInSeconds: 6 * 3600 },
    concurrency: 1,
  }),
  /** A restore drill of the latest snapshot (src/backups/drill.ts); a failed drill is a result, not a retry. */
  'backups.drill': define({
    schema: z.object({ serverId: z.uuid() }),
    queue: { policy: 'stately', retryLimit: 1, retryDelay: 1800, expireInSeconds: 6 * 3600 },
    concurrency: 1,
  }),
  /** Deletes a repository whose grace period is over (src/backups/retire.ts); retried by pg-boss until nothing is left. */
  'backups.expire': define({
    schema: z.object({ serverId: z.uuid() }),
    queue: { policy: 'stately', retryLimit: 10, retryDelay: 60, retryBackoff: true, retryDelayMax: 3600, expireInSeconds: 900 },
    concurrency: 2,
  }),
  /** One mailbox restore into "Restored <date>" (src/backups/restore-mailbox.ts); pg-boss retries it (the script is idempotent). */
  'backups.restore_mailbox': define({
    schema: z.object({ restoreId: z.uuid() }),
    queue: { policy: 'stately', retryLimit: 2, retryDelay: 60, retryBackoff: true, expireInSeconds: 3600 },
    concurrency: 2,
  }),
  /** Every minute: drift checks due (src/fleet/schedule.ts), reboots due in their window, rollouts to advance. */
  'fleet.sweep': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 0, expireInSeconds: 120 },
    concurrency: 1,
  }),
  /** One server's host against what mailplane applied and would render now, then its health run (src/fleet/observe.ts). */
  'fleet.drift_check': define({
    schema: z.object({ serverId: z.uuid() }),
    queue: { policy: 'stately', retryLimit: 1, retryDelay: 60, expireInSeconds: 600 },
    concurrency: 4,
  }),
  /** A required reboot in the server's maintenance window, then its checks (src/fleet/reboot.ts). */
  'fleet.reboot': define({
    schema: z.object({ serverId: z.uuid() }),
    queue: { policy: 'stately', retryLimit: 1, retryDelay: 300, expireInSeconds: 1800 },
    concurrency: 2,
  }),
  /** Moves a rollout on: a server's run ended, a window opened, ops resumed it (src/fleet/rollouts.ts). */
  'rollouts.advance': define({
    schema: z.object({ rolloutId: z.uuid() }),
    queue: { policy: 'stately', retryLimit: 3, retryDelay: 5, expireInSeconds: 300, notify: true },
    concurrency: 2,
  }),
  /**
   * One bake of a zone's mail-server image (provisioning/image-bake.ts). pg-boss retries a failed
   * attempt with backoff; each attempt resumes from the phase the bake row records.
   */
  'images.bake': define({
    schema: z.object({ bakeId: z.uuid() }),
    queue: { policy: 'stately', retryLimit: 4, retryDelay: 60, retryBackoff: true, retryDelayMax: 1800, expireInSeconds: 2 * 3600, heartbeatSeconds: 60 },
    concurrency: 2,
  }),
  /** Daily and at worker start: bakes for zones whose image is missing, a week old, or of another package set (provisioning/image-refresh.ts). */
  'images.refresh': define({
    schema: z.object({}).passthrough(),
    queue: { retryLimit: 1, retryDelay: 60, expireInSeconds: 300 },
    concurrency: 1,
  }),
} as const;

export type JobName = keyof typeof JOB_CATALOG;
export type JobData<N extends JobName> = z.infer<(typeof JOB_CATALOG)[N]['schema']>;
