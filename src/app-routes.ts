/**
 * Part of the composition root: what the product adds to the API app beyond the
 * /v1 resources created in app.ts: the emailed-link routes, the health-check and
 * backup APIs, and the dashboard pages (with the sandbox mailbox when no SMTP is
 * configured). It wires domain code to the context; no domain folder imports it.
 */
import type { RouteRegistrar } from './api/app.ts';
import type { ApiDeps } from './api/deps.ts';
import { registerAccountRecoveryRoutes } from './api/routes/account-recovery.ts';
import { registerMailboxDownloadRoutes } from './api/routes/mailbox-downloads.ts';
import { registerServerBackupRoutes } from './api/routes/server-backups.ts';
import { registerServerCheckRoutes } from './api/routes/server-checks.ts';
import { registerAdminFleetRoutes } from './api/routes/admin-fleet.ts';
import { registerMaintenanceWindowRoutes } from './api/routes/maintenance-windows.ts';
import { opsDeps, recoveryDeps, webmailStandIn, type AppContext } from './app-context.ts';
import { createDashboard } from './web/dashboard.ts';
import type { WebDeps } from './web/web-env.ts';

export function webDeps(ctx: AppContext, api: ApiDeps): WebDeps {
  if (!api.provisioning) throw new Error('the dashboard needs the provisioning API deps');
  return {
    api,
    p: api.provisioning,
    recovery: recoveryDeps(ctx),
    mailer: ctx.mailer,
    outbox: ctx.outbox,
    ops: opsDeps(ctx),
    health: ctx.health,
    fleet: ctx.fleet,
    backups: { storageConfigured: ctx.backups.storage !== null, simulated: ctx.backups.simulatedHosts, service: ctx.backups },
    webmailStandIn: webmailStandIn(ctx),
    invitations: {
      db: ctx.database.db,
      key: ctx.invitationKey,
      ttlSeconds: ctx.config.auth.invitationTtlSeconds,
      perWorkspacePerDay: ctx.config.auth.invitationsPerWorkspacePerDay,
      clock: ctx.clock,
    },
  };
}

export function backupApiDeps(ctx: AppContext) {
  return { database: ctx.database, queue: ctx.queue, storageConfigured: ctx.backups.storage !== null, simulated: ctx.backups.simulatedHosts, clock: ctx.clock };
}

export function productRegistrars(ctx: AppContext, api: ApiDeps): RouteRegistrar[] {
  return [
    (app) => registerAccountRecoveryRoutes(app, recoveryDeps(ctx)),
    (app) => registerServerCheckRoutes(app, { db: ctx.database.db, queue: ctx.queue, simulated: ctx.health.probe.simulated }),
    (app) => registerServerBackupRoutes(app, backupApiDeps(ctx)),
    (app) => registerMailboxDownloadRoutes(app, ctx.backups),
    (app) => registerAdminFleetRoutes(app, api, ctx.fleet),
    (app) => registerMaintenanceWindowRoutes(app, api, ctx.fleet),
    (app) => void app.route('/', createDashboard(webDeps(ctx, api))),
  ];
}
