/** Registers every job handler on a worker process. */
import { and, isNotNull, lt, or } from 'drizzle-orm';
import { opsDeps, type AppContext } from './app-context.ts';
import { invitations, sessions } from './db/schema/index.ts';
import { registerBillingWorkers } from './billing/workers.ts';
import { registerOpsWorkers } from './ops/workers.ts';
import { pruneBlacklistHistory } from './ops/retention.ts';
import { registerHealthWorkers } from './health/workers.ts';
import { registerBackupWorkers } from './backups/workers.ts';
import { registerFleetWorkers } from './fleet/workers.ts';
import { erasureStuck, eraseUser, eraseWorkspace } from './gdpr/erase.ts';
import { startDueErasures } from './gdpr/erasure-grace.ts';
import { markSyncFailed, resyncStaleMailboxes, syncMailboxes } from './mailboxes/sync.ts';
import { collectMailboxUsage, COLLECT_USAGE_CRON, queueUsageCollections } from './mailboxes/usage.ts';
import { failAbandonedImports, runMailboxImport } from './mailboxes/import-run.ts';
import { syncDns } from '../provisioning/customer-records-sync.ts';
import { DNSSEC_WATCH_CRON, watchDnssec } from '../provisioning/dnssec-watch.ts';
import { advanceDkimKey, sweepDkim } from './servers/dkim-sweep.ts';
import { runBake } from '../provisioning/image-bake.ts';
import { IMAGE_REFRESH_CRON, refreshImages } from '../provisioning/image-refresh.ts';
import { JOB_CATALOG } from './jobs/catalog.ts';

export async function startWorkers(ctx: AppContext): Promise<void> {
  const { db } = ctx.database;
  await ctx.queue.work('maintenance.cleanup', async () => {
    const dayAgo = new Date(ctx.clock.now() - 24 * 3600 * 1000);
    await db.delete(sessions).where(or(lt(sessions.expiresAt, dayAgo), and(isNotNull(sessions.revokedAt), lt(sessions.revokedAt, dayAgo))));
    const monthAgo = new Date(ctx.clock.now() - 30 * 24 * 3600 * 1000);
    await db.delete(invitations).where(lt(invitations.expiresAt, monthAgo));
    await pruneBlacklistHistory(db, { keepDays: ctx.config.ops.historyDays, now: ctx.clock.now() });
  });
  await ctx.queue.schedule('maintenance.cleanup', '17 * * * *', {});
  await ctx.queue.work('provisioning.step', (data, job) => ctx.engine.handleStepJob(data, job));
  await registerOpsWorkers(opsDeps(ctx));
  await registerBillingWorkers({
    database: ctx.database,
    queue: ctx.queue,
    billing: ctx.providers.billing,
    alerts: ctx.alerts,
    mailer: ctx.mailer,
    log: ctx.log,
    publicUrl: ctx.config.http.publicUrl,
    plans: ctx.config.product.plans,
    placements: ctx.placements,
    graceMs: ctx.config.billing.graceMs,
    clock: ctx.clock,
  });
  await ctx.queue.work('mailboxes.sync', async (data, job) => void (await syncMailboxes(ctx.provisioning, data, job.retryCount + 1)));
  await ctx.queue.workFailures('mailboxes.sync_failed', ({ serverId }, failed) => markSyncFailed(ctx.provisioning, serverId, failed.error));
  await ctx.queue.work('mailboxes.resync', async () => {
    await resyncStaleMailboxes(ctx.provisioning, { olderThanMs: 5 * 60_000 });
    await failAbandonedImports(ctx.provisioning);
  });
  await ctx.queue.work('mailboxes.import', async ({ importId }) => void (await runMailboxImport(ctx.provisioning, importId)));
  await ctx.queue.schedule('mailboxes.resync', '*/10 * * * *', {});
  await ctx.queue.work('mailboxes.collect_usage', async (data) => void (await collectMailboxUsage(ctx.provisioning, data)));
  await ctx.queue.work('mailboxes.collect_usage_sweep', async () => void (await queueUsageCollections(ctx.provisioning)));
  await ctx.queue.schedule('mailboxes.collect_usage_sweep', COLLECT_USAGE_CRON, {});
  await ctx.queue.work('dns.sync', async (data) => void (await syncDns(ctx.provisioning, data)));
  await ctx.queue.work('dns.dnssec_watch', async () => void (await watchDnssec(ctx.provisioning)));
  await ctx.queue.schedule('dns.dnssec_watch', DNSSEC_WATCH_CRON, {});
  await ctx.queue.work('dkim.sweep', async () => void (await sweepDkim(ctx.provisioning)));
  await ctx.queue.work('dkim.advance', async (data) => void (await advanceDkimKey(ctx.provisioning, data)));
  await ctx.queue.schedule('dkim.sweep', '* * * * *', {});
  await ctx.queue.work('gdpr.erase_workspace', async (data) => void (await eraseWorkspace(ctx.erasure, data)));
  await ctx.queue.workFailures('gdpr.erase_workspace_stuck', (data, failed) => erasureStuck(ctx.erasure, data, failed));
  await ctx.queue.work('gdpr.erasure_sweep', async () => void (await startDueErasures(ctx.erasure)));
  await ctx.queue.schedule('gdpr.erasure_sweep', '*/5 * * * *', {});
  await registerHealthWorkers(ctx.health, ctx.queue);
  await registerBackupWorkers(ctx.backups);
  await registerFleetWorkers(ctx.fleet);
  const images = { database: ctx.database, queue: ctx.queue, clock: ctx.provisioning.clock, imageZones: ctx.provisioning.settings.imageZones };
  await ctx.queue.work('images.bake', (data, job) =>
    runBake(ctx.provisioning, data.bakeId, { retryCount: job.retryCount, retryLimit: JOB_CATALOG['images.bake'].queue.retryLimit ?? 0, signal: job.signal }),
  );
  await ctx.queue.work('images.refresh', async () => void (await refreshImages(images)));
  await ctx.queue.schedule('images.refresh', IMAGE_REFRESH_CRON, {});
  // A deploy may bring a new package set: check now, not at the next daily run.
  await ctx.queue.send('images.refresh', {}, { singletonKey: 'worker-start' });
  await ctx.queue.work('gdpr.erase_user', async (data) => void (await eraseUser(ctx.erasure, data)));
  await ctx.queue.workFailures('gdpr.erase_user_stuck', (data, failed) => erasureStuck(ctx.erasure, data, failed));
}
