/**
 * What the composition root adds to the API app beyond the /v1 resources
 * created in app.ts: the emailed-link routes, the health-check API, and the
 * dashboard pages (with the sandbox mailbox when no SMTP is configured).
 */
import type { RouteRegistrar } from '../api/app.ts';
import type { ApiDeps } from '../api/deps.ts';
import { registerAccountRecoveryRoutes } from '../api/routes/account-recovery.ts';
import { registerServerCheckRoutes } from '../api/routes/server-checks.ts';
import type { RecoveryDeps } from '../accounts/recovery.ts';
import type { AppContext } from '../app-context.ts';
import { opsDeps } from '../ops/deps.ts';
import { createDashboard } from './dashboard.ts';
import type { WebDeps } from './web-env.ts';

export function recoveryDeps(ctx: AppContext): RecoveryDeps {
  return {
    db: ctx.database.db, hasher: ctx.hasher, sessions: ctx.sessions, mailer: ctx.mailer, log: ctx.log,
    tokenKey: ctx.accountTokenKey, publicUrl: ctx.config.http.publicUrl,
  };
}

export function webDeps(ctx: AppContext, api: ApiDeps): WebDeps {
  if (!api.provisioning) throw new Error('the dashboard needs the provisioning API deps');
  return {
    api, p: api.provisioning, recovery: recoveryDeps(ctx), mailer: ctx.mailer, outbox: ctx.outbox, ops: opsDeps(ctx), health: ctx.health,
    invitations: { db: ctx.database.db, key: ctx.invitationKey, ttlSeconds: ctx.config.auth.invitationTtlSeconds, perWorkspacePerDay: ctx.config.auth.invitationsPerWorkspacePerDay },
  };
}

export function productRegistrars(ctx: AppContext, api: ApiDeps): RouteRegistrar[] {
  return [
    (app) => registerAccountRecoveryRoutes(app, recoveryDeps(ctx)),
    (app) => registerServerCheckRoutes(app, { db: ctx.database.db, queue: ctx.queue, simulated: ctx.health.probe.simulated }),
    (app) => void app.route('/', createDashboard(webDeps(ctx, api))),
  ];
}
