/**
 * The dashboard: server-rendered pages on the API's own process and
 * authorisation. Public pages first (sign-in, links from mail, assets, the
 * sandbox mailbox), then the sign-in gate, then everything behind it.
 * Hono runs middleware in registration order, so the gate must come before
 * the routes it guards.
 */
import { registerAssets } from './assets.ts';
import { renderError } from './error-page.ts';
import { registerAccountPages } from './pages/account-pages.ts';
import { registerApiKeyPages } from './pages/api-key-pages.ts';
import { registerAuthPages } from './pages/auth-pages.ts';
import { registerBackupPages } from './pages/backup-pages.ts';
import { registerMailboxDownloadPages } from './pages/mailbox-download-pages.ts';
import { registerBillingPages } from './pages/billing-pages.ts';
import { registerServerBillingPages } from './pages/server-billing-pages.ts';
import { registerDnsPages } from './pages/dns-pages.ts';
import { registerHealthPages } from './pages/health-pages.ts';
import { registerMailboxPages } from './pages/mailbox-pages.ts';
import { registerMailGuardPages } from './pages/mail-guard-pages.ts';
import { registerMailboxImportPages } from './pages/mailbox-import-pages.ts';
import { registerAddressPages } from './pages/address-pages.ts';
import { registerOpsPages } from './pages/ops-pages.ts';
import { registerFleetPages } from './pages/fleet-pages.ts';
import { registerSandboxMailPages } from './pages/sandbox-mail-pages.ts';
import { registerSandboxWebmailPages } from './pages/sandbox-webmail-pages.ts';
import { registerServerPages } from './pages/server-pages.ts';
import { registerSettingsPages } from './pages/settings-pages.ts';
import { registerSupportPages } from './pages/support-pages.ts';
import { registerTeamPages } from './pages/team-pages.ts';
import { registerWorkspacePages } from './pages/workspace-pages.ts';
import { ID_PATTERNS, wellFormedPathIds } from './path-ids.ts';
import { newWebApp, type WebApp, type WebDeps } from './web-env.ts';
import { requireSignIn, sameOriginPosts } from './web-session.ts';
import { requireEnrolment } from './two-factor-gate.ts';
import { registerSecondFactorLoginPages } from './pages/second-factor-login-pages.ts';
import { registerTwoFactorPages } from './pages/two-factor-pages.ts';

const SIGNED_IN_ONLY = ['/', '/workspaces', '/w/*', '/checkout/*', '/invitations/*', '/support/*', '/ops/*'];

export function createDashboard(deps: WebDeps): WebApp {
  const web = newWebApp();
  web.use('*', sameOriginPosts(deps.api.config.http.publicUrl));
  const ids = wellFormedPathIds();
  for (const pattern of ID_PATTERNS) web.use(pattern, ids);
  registerAssets(web);
  registerAuthPages(web, deps);
  registerSecondFactorLoginPages(web, deps);
  registerTwoFactorPages(web, deps);
  registerAccountPages(web, deps);
  if (deps.outbox) registerSandboxMailPages(web, deps, deps.outbox);
  if (deps.webmailStandIn) registerSandboxWebmailPages(web, deps, deps.webmailStandIn);

  const gate = requireSignIn(deps);
  const enrolled = requireEnrolment(deps);
  for (const path of SIGNED_IN_ONLY) web.use(path, gate, enrolled);
  registerWorkspacePages(web, deps);
  registerTeamPages(web, deps);
  registerApiKeyPages(web, deps);
  registerBillingPages(web, deps);
  registerServerBillingPages(web, deps);
  registerServerPages(web, deps);
  registerDnsPages(web, deps);
  registerMailboxPages(web, deps);
  registerMailGuardPages(web, deps);
  registerMailboxImportPages(web, deps);
  registerAddressPages(web, deps);
  registerHealthPages(web, deps);
  registerBackupPages(web, deps);
  registerMailboxDownloadPages(web, deps);
  registerSettingsPages(web, deps);
  registerSupportPages(web, deps);
  registerOpsPages(web, deps);
  // After the ops and support pages: their staff-only guards cover its /ops and /support pages.
  registerFleetPages(web, deps);
  web.onError(renderError);
  return web;
}
