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
import { registerBillingPages } from './pages/billing-pages.ts';
import { registerDnsPages } from './pages/dns-pages.ts';
import { registerHealthPages } from './pages/health-pages.ts';
import { registerMailboxPages } from './pages/mailbox-pages.ts';
import { registerAddressPages } from './pages/address-pages.ts';
import { registerOpsPages } from './pages/ops-pages.ts';
import { registerSandboxMailPages } from './pages/sandbox-mail-pages.ts';
import { registerServerPages } from './pages/server-pages.ts';
import { registerSettingsPages } from './pages/settings-pages.ts';
import { registerSupportPages } from './pages/support-pages.ts';
import { registerTeamPages } from './pages/team-pages.ts';
import { registerWorkspacePages } from './pages/workspace-pages.ts';
import { ID_PATTERNS, wellFormedPathIds } from './path-ids.ts';
import { newWebApp, type WebApp, type WebDeps } from './web-env.ts';
import { requireSignIn, sameOriginPosts } from './web-session.ts';

const SIGNED_IN_ONLY = ['/', '/workspaces', '/w/*', '/checkout/*', '/invitations/*', '/support/*', '/ops/*'];

export function createDashboard(deps: WebDeps): WebApp {
  const web = newWebApp();
  web.use('*', sameOriginPosts(deps.api.config.http.publicUrl));
  const ids = wellFormedPathIds();
  for (const pattern of ID_PATTERNS) web.use(pattern, ids);
  registerAssets(web);
  registerAuthPages(web, deps);
  registerAccountPages(web, deps);
  if (deps.outbox) registerSandboxMailPages(web, deps, deps.outbox);

  const gate = requireSignIn(deps);
  for (const path of SIGNED_IN_ONLY) web.use(path, gate);
  registerWorkspacePages(web, deps);
  registerTeamPages(web, deps);
  registerApiKeyPages(web, deps);
  registerBillingPages(web, deps);
  registerServerPages(web, deps);
  registerDnsPages(web, deps);
  registerMailboxPages(web, deps);
  registerAddressPages(web, deps);
  registerHealthPages(web, deps);
  registerBackupPages(web, deps);
  registerSettingsPages(web, deps);
  registerSupportPages(web, deps);
  registerOpsPages(web, deps);
  web.onError(renderError);
  return web;
}
