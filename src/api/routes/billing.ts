/** POST /v1/workspaces/{ws}/checkout and POST /v1/webhooks/stripe */
import { createRoute, z } from '@hono/zod-openapi';
import { startCheckout } from '../../billing/checkout.ts';
import { DomainSchema } from '../../billing/domain-name.ts';
import { handleStripeWebhook } from '../../billing/webhooks.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireUser } from '../middleware/authenticate.ts';
import { bearer, jsonBody, jsonResponse, problems, WorkspaceParam } from '../openapi.ts';

const checkout = createRoute({
  method: 'post', path: '/v1/workspaces/{ws}/checkout', tags: ['billing'], security: bearer,
  summary: 'Start a Stripe checkout for a mail server (plan, EU zone, domain)',
  request: { params: WorkspaceParam, body: jsonBody(z.strictObject({ plan: z.string().min(1).max(40), region: z.string().min(1).max(20), domain: DomainSchema })) },
  responses: { 201: jsonResponse(z.object({ checkoutId: z.string(), sessionId: z.string(), checkoutUrl: z.string() }), 'Go to checkoutUrl to pay'), ...problems(401, 403, 404, 409) },
});

const webhook = createRoute({
  method: 'post', path: '/v1/webhooks/stripe', tags: ['billing'], summary: 'Stripe webhook (signature verified on the raw body)',
  responses: { 200: jsonResponse(z.object({ received: z.literal(true), duplicate: z.boolean() }), 'Processed, or a replay of a processed event'), ...problems() },
});

export function registerBillingRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  app.openapi(checkout, async (c) => {
    // Workspace first: a stranger's credential learns nothing, not even that keys cannot do this.
    const access = await authorizeWorkspace(deps.db, c.get('principal'), c.req.valid('param').ws, 'servers.checkout');
    const user = requireUser(c);
    const result = await startCheckout({ db: deps.db, billing: p.billing, config: deps.config }, c.get('actor'), access, user.userId, c.req.valid('json'));
    return c.json(result, 201);
  });

  app.openapi(webhook, async (c) => {
    // The raw text, exactly as received: the signature covers these bytes.
    const raw = await c.req.text();
    const result = await handleStripeWebhook({ database: p.database, billing: p.billing, queue: p.queue, log: c.get('log'), alerts: p.erasure.alerts, graceMs: deps.config.billing.graceMs }, raw, c.req.header('stripe-signature'));
    return c.json({ received: true as const, duplicate: result.duplicate }, 200);
  });
}
