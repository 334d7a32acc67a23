/**
 * What the composition root adds to the API app beyond the /v1 resources
 * created in app.ts: the emailed-link routes, the health-check API, the
 * dashboard pages and, in the sandbox, the outbox page.
 */
import type { RouteRegistrar } from '../api/app.ts';
import type { ApiDeps } from '../api/deps.ts';
import { registerAccountRecoveryRoutes } from '../api/routes/account-recovery.ts';
import type { RecoveryDeps } from '../accounts/recovery.ts';
import type { AppContext } from '../app-context.ts';

export function recoveryDeps(ctx: AppContext): RecoveryDeps {
  return {
    db: ctx.database.db, hasher: ctx.hasher, sessions: ctx.sessions, mailer: ctx.mailer, log: ctx.log,
    tokenKey: ctx.accountTokenKey, publicUrl: ctx.config.http.publicUrl,
  };
}

export function productRegistrars(ctx: AppContext, api: ApiDeps): RouteRegistrar[] {
  void api;
  return [
    (app) => registerAccountRecoveryRoutes(app, recoveryDeps(ctx)),
  ];
}
