/**
 * The boot disk a plan's server gets. Everything lives on one Block Storage
 * volume: Debian and the mail stack, the mail, the queue, Rspamd's data, the
 * journal, logs and restic's cache. The image's own volume is 10 GB, shared
 * with all of it, so a plan selling 20 or 40 GB of mailboxes would fill its
 * disk long before the quotas. The volume is therefore:
 *
 *   size = mailbox storage sold + SYSTEM_HEADROOM_GB
 *
 * (10 GB: the installed system takes about 3 GB, the rest absorbs the queue of
 * a day of deferred mail, Rspamd's statistics and caches, the journal (capped)
 * and a restic cache). Starter: 20 + 10 = 30 GB; Business: 40 + 10 = 50 GB.
 * The disk health check warns at 80 % and fails at 95 % of it.
 */
export const SYSTEM_HEADROOM_GB = 10;

/** Scaleway sizes volumes in bytes, in decimal gigabytes (10 GB = 10 000 000 000, recorded). */
export function rootVolumeBytes(plan: { storageGb: number }): number {
  return (plan.storageGb + SYSTEM_HEADROOM_GB) * 1_000_000_000;
}
