/** Checkout, the customer's billing overview and portal link, and the Stripe webhook. */
import { createRoute, z } from '@hono/zod-openapi';
import { billingOverview, openBillingPortal } from '../../billing/account.ts';
import { startCheckout } from '../../billing/checkout.ts';
import { DomainSchema } from '../../billing/domain-name.ts';
import { handleStripeWebhook } from '../../billing/webhooks.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { requireUser } from '../middleware/authenticate.ts';
import { bearer, jsonBody, jsonResponse, problems, WorkspaceParam } from '../openapi.ts';

const checkout = createRoute({
  method: 'post',
  path: '/v1/workspaces/{ws}/checkout',
  tags: ['billing'],
  security: bearer,
  summary: 'Start a Stripe checkout for a mail server (plan, EU zone, domain)',
  request: {
    params: WorkspaceParam,
    body: jsonBody(z.strictObject({ plan: z.string().min(1).max(40), region: z.string().min(1).max(20), domain: DomainSchema })),
  },
  responses: {
    201: jsonResponse(z.object({ checkoutId: z.string(), sessionId: z.string(), checkoutUrl: z.string() }), 'Go to checkoutUrl to pay'),
    ...problems(401, 403, 404, 409),
  },
});

const BillingLineSchema = z.object({
  subscriptionId: z.string(),
  serverId: z.string().nullable(),
  domain: z.string().nullable(),
  serverStatus: z.string().nullable(),
  plan: z.object({ id: z.string(), name: z.string(), monthlyPriceCents: z.number().nullable(), currency: z.string() }),
  status: z.string(),
  nextInvoiceAt: z.string().nullable(),
  cancelAtPeriodEnd: z.boolean(),
  periodEndsAt: z.string().nullable(),
  graceEndsAt: z.string().nullable(),
});

const overview = createRoute({
  method: 'get',
  path: '/v1/workspaces/{ws}/billing',
  tags: ['billing'],
  security: bearer,
  summary: 'Subscriptions of the workspace: plan, status, next invoice, and the grace period of an ended one (owners and admins)',
  request: { params: WorkspaceParam },
  responses: { 200: jsonResponse(z.object({ subscriptions: z.array(BillingLineSchema) }), 'Billing overview'), ...problems(401, 403, 404) },
});

const portal = createRoute({
  method: 'post',
  path: '/v1/workspaces/{ws}/billing/portal',
  tags: ['billing'],
  security: bearer,
  summary: "A short-lived link to Stripe's customer portal (card, invoices, cancel); it returns to the billing page",
  request: { params: WorkspaceParam, body: { ...jsonBody(z.strictObject({ subscriptionId: z.uuid().optional() })), required: false } },
  responses: { 200: jsonResponse(z.object({ url: z.string() }), 'Open url in the browser; make a new one each time'), ...problems(401, 403, 404, 409) },
});

const webhook = createRoute({
  method: 'post',
  path: '/v1/webhooks/stripe',
  tags: ['billing'],
  summary: 'Stripe webhook (signature verified on the raw body)',
  responses: {
    200: jsonResponse(z.object({ received: z.literal(true), duplicate: z.boolean() }), 'Processed, or a replay of a processed event'),
    ...problems(),
  },
});

export function registerBillingRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  app.openapi(checkout, async (c) => {
    // Workspace first: a stranger's credential learns nothing, not even that keys cannot do this.
    const access = await authorizeWorkspace(deps.db, c.get('principal'), c.req.valid('param').ws, 'servers.checkout');
    const user = requireUser(c);
    const result = await startCheckout(
      { db: deps.db, clock: deps.clock, billing: p.billing, config: deps.config, placements: p.placements },
      c.get('actor'),
      access,
      user.userId,
      c.req.valid('json'),
    );
    return c.json(result, 201);
  });

  app.openapi(overview, async (c) => {
    const access = await authorizeWorkspace(deps.db, c.get('principal'), c.req.valid('param').ws, 'billing.read');
    return c.json({ subscriptions: await billingOverview(deps.db, deps.config, access.workspaceId) }, 200);
  });

  app.openapi(portal, async (c) => {
    const access = await authorizeWorkspace(deps.db, c.get('principal'), c.req.valid('param').ws, 'billing.manage');
    const body = c.req.valid('json') as { subscriptionId?: string } | undefined;
    const session = await openBillingPortal(
      { db: deps.db, billing: p.billing, publicUrl: deps.config.http.publicUrl },
      c.get('actor'),
      access.workspaceId,
      body?.subscriptionId,
    );
    return c.json(session, 200);
  });

  app.openapi(webhook, async (c) => {
    // The raw text, exactly as received: the signature covers these bytes.
    const raw = await c.req.text();
    const result = await handleStripeWebhook(
      {
        database: p.database,
        billing: p.billing,
        queue: p.queue,
        log: c.get('log'),
        alerts: p.erasure.alerts,
        graceMs: deps.config.billing.graceMs,
        plans: deps.config.product.plans,
        clock: deps.clock,
      },
      raw,
      c.req.header('stripe-signature'),
    );
    return c.json({ received: true as const, duplicate: result.duplicate }, 200);
  });
}
