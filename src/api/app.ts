/**
 * The Hono application: middleware in order (request context, secure headers,
 * body limit, rate limits, authentication), the route files, and the single
 * error mapping to problem+json.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { secureHeaders } from 'hono/secure-headers';
import type { ApiDeps } from './deps.ts';
import type { App, AppEnv } from './env.ts';
import { authenticate } from './middleware/authenticate.ts';
import { rateLimit } from './middleware/rate-limit.ts';
import { requestContext } from './middleware/request-context.ts';
import { wellFormedInput } from './middleware/well-formed-input.ts';
import { errorToProblem, pathProblem, problemResponse, zodProblem } from './problem.ts';
import { registerAdminAlertRoutes } from './routes/admin-alerts.ts';
import { registerAdminImageRoutes } from './routes/admin-images.ts';
import { registerAdminIpRotationRoutes } from './routes/admin-ip-rotation.ts';
import { registerAdminServerRoutes } from './routes/admin-servers.ts';
import { registerApiKeyRoutes } from './routes/api-keys.ts';
import { registerBillingRoutes } from './routes/billing.ts';
import { registerCatalogRoutes } from './routes/catalog.ts';
import { registerAuthRoutes } from './routes/auth.ts';
import { DOCS_CSP_DIRECTIVES, isDocsPath, registerDocsRoutes } from './routes/docs.ts';
import { isWebPath, WEB_CSP_DIRECTIVES } from '../web/csp.ts';
import { registerGdprRoutes } from './routes/gdpr.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerInvitationRoutes } from './routes/invitations.ts';
import { registerMailboxRoutes } from './routes/mailboxes.ts';
import { registerMailboxCredentialRoutes } from './routes/mailbox-credentials.ts';
import { registerMailboxImportRoutes } from './routes/mailbox-imports.ts';
import { registerSpamSettingsRoutes } from './routes/spam-settings.ts';
import { registerAddressRoutes } from './routes/addresses.ts';
import { registerMeRoutes } from './routes/me.ts';
import { registerMeSessionRoutes } from './routes/me-sessions.ts';
import { registerMetricsRoutes } from './routes/metrics.ts';
import { registerServerRoutes } from './routes/servers.ts';
import { registerServerWaitRoutes } from './routes/server-waits.ts';
import { registerServerRebuildRoutes } from './routes/server-rebuild.ts';
import { registerServerBillingRoutes } from './routes/server-billing.ts';
import { registerServerDkimRoutes } from './routes/server-dkim.ts';
import { registerTlsRolloverRoutes } from './routes/admin-tls-rollover.ts';
import { registerDnsRecordRoutes } from './routes/dns-records.ts';
import { registerWorkspaceRoutes } from './routes/workspaces.ts';
import { registerWorkspaceSecurityRoutes } from './routes/workspace-security.ts';
import { registerTwoFactorRoutes } from './routes/two-factor.ts';
import { registerTwoFactorSignInRoutes } from './routes/two-factor-sign-in.ts';

export type RouteRegistrar = (app: App) => void;

export function createApp(deps: ApiDeps, extra: RouteRegistrar[] = []): App {
  const app = new OpenAPIHono<AppEnv>({
    // Validation failures of params, query and body all become one problem+json shape.
    // A path parameter that fails its schema (an id that is not a UUID) names nothing: 404, as an unknown id.
    defaultHook: (result, c) => {
      if (!result.success) return result.target === 'param' ? pathProblem(c, result.error) : zodProblem(c, result.error, result.target);
    },
  });

  app.use('*', requestContext({ log: deps.log, trustProxy: deps.config.http.trustProxy }));
  const headers = (contentSecurityPolicy: NonNullable<Parameters<typeof secureHeaders>[0]>['contentSecurityPolicy']) =>
    secureHeaders({
      contentSecurityPolicy,
      strictTransportSecurity: 'max-age=63072000; includeSubDomains',
      crossOriginResourcePolicy: 'same-origin',
    });
  const apiHeaders = headers({ defaultSrc: ["'none'"], frameAncestors: ["'none'"] });
  const docsHeaders = headers(DOCS_CSP_DIRECTIVES);
  // Dashboard pages (src/web) load their own script and stylesheet; the API keeps default-src 'none'.
  const webHeaders = headers(WEB_CSP_DIRECTIVES);
  app.use('*', (c, next) => (isDocsPath(c.req.path) ? docsHeaders : isWebPath(c.req.path) ? webHeaders : apiHeaders)(c, next));
  app.use(
    '*',
    bodyLimit({
      maxSize: deps.config.http.bodyLimitBytes,
      onError: (c) =>
        problemResponse(c, {
          code: 'payload_too_large',
          status: 413,
          title: 'Payload too large',
          detail: `Request bodies are limited to ${deps.config.http.bodyLimitBytes} bytes`,
        }),
    }),
  );
  app.use('*', wellFormedInput());
  // A change made through this process is seen by its very next request: the read cache's NOTIFY
  // (read-cache.ts) arrives on another connection a moment after the commit, which a client that
  // logs out and tries its token at once could outrun. Changes are rare next to reads.
  const readCache = deps.readCache;
  if (readCache) {
    app.use('*', async (c, next) => {
      await next();
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && c.req.method !== 'OPTIONS') readCache.clear();
    });
  }

  app.use(
    '/v1/auth/*',
    rateLimit(deps.limiters.auth, (c) => `ip:${c.get('clientIp') ?? 'unknown'}`),
  );
  app.use(
    '/v1/invitations/*',
    rateLimit(deps.limiters.auth, (c) => `ip:${c.get('clientIp') ?? 'unknown'}`),
  );
  const auth = authenticate(deps);
  // Hono's `/x/*` also matches `/x` itself: listing both would run each middleware twice there
  // (two authentications, and every request counted twice against its rate limit).
  for (const path of ['/v1/me/*', '/v1/workspaces/*', '/v1/invitations/*', '/v1/admin/*']) {
    app.use(path, auth);
  }
  const perCredential = rateLimit(deps.limiters.api, (c) => {
    const p = c.get('principal');
    return p.kind === 'api_key' ? `key:${p.keyId}` : `user:${p.userId}`;
  });
  for (const path of ['/v1/me/*', '/v1/workspaces/*', '/v1/admin/*']) {
    app.use(path, perCredential);
  }

  registerHealthRoutes(app, deps);
  registerAuthRoutes(app, deps);
  registerTwoFactorSignInRoutes(app, deps);
  registerMeRoutes(app, deps);
  registerMeSessionRoutes(app, deps);
  registerTwoFactorRoutes(app, deps);
  registerWorkspaceRoutes(app, deps);
  registerWorkspaceSecurityRoutes(app, deps);
  registerInvitationRoutes(app, deps);
  registerApiKeyRoutes(app, deps);
  registerCatalogRoutes(app, deps);
  if (deps.provisioning) {
    registerBillingRoutes(app, deps, deps.provisioning);
    registerServerRoutes(app, deps, deps.provisioning);
    registerServerWaitRoutes(app, deps, deps.provisioning);
    registerServerRebuildRoutes(app, deps, deps.provisioning);
    registerServerBillingRoutes(app, deps, deps.provisioning);
    registerServerDkimRoutes(app, deps, deps.provisioning);
    registerTlsRolloverRoutes(app, deps, deps.provisioning);
    registerDnsRecordRoutes(app, deps, deps.provisioning);
    registerAdminServerRoutes(app, deps, deps.provisioning);
    registerAdminIpRotationRoutes(app, deps, deps.provisioning);
    registerAdminImageRoutes(app, deps.provisioning, deps.clock);
    registerAdminAlertRoutes(app, deps, deps.provisioning);
    registerMetricsRoutes(app, deps, deps.provisioning);
    registerMailboxRoutes(app, deps, deps.provisioning);
    registerMailboxCredentialRoutes(app, deps, deps.provisioning);
    registerMailboxImportRoutes(app, deps, deps.provisioning);
    registerSpamSettingsRoutes(app, deps, deps.provisioning);
    registerAddressRoutes(app, deps, deps.provisioning);
    registerGdprRoutes(app, deps, deps.provisioning);
  }
  for (const register of extra) register(app);
  registerDocsRoutes(app, { version: '0.1.0' });

  app.notFound((c) => problemResponse(c, { code: 'not_found', status: 404, title: 'Not found', detail: `No route for ${c.req.method} ${c.req.path}` }));
  app.onError((err, c) => errorToProblem(err, c));
  return app;
}
