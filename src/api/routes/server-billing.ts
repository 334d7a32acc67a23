/**
 * One server's subscription: cancel it at the end of the period (the domain name typed as
 * confirmation), undo that before the period ends, and change its plan (Starter ↔ Business).
 * Owners only, people only (src/auth/permissions.ts): these end or change what the workspace pays.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { changePlan } from '../../billing/change-plan.ts';
import { cancelServer, undoCancellation } from '../../billing/server-subscription.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { bearer, jsonBody, jsonResponse, problems, ServerParams } from '../openapi.ts';

const Cancellation = z
  .object({
    subscriptionId: z.string(),
    cancelAtPeriodEnd: z.boolean(),
    periodEndsAt: z.string().nullable().openapi({ description: 'When the subscription ends (cancelled) or renews (not cancelled)' }),
  })
  .openapi('ServerCancellation');

const PlanChange = z
  .object({
    serverId: z.string(),
    fromPlan: z.string(),
    toPlan: z.string(),
    status: z.literal('pending').openapi({ description: 'The limits change when Stripe confirms (customer.subscription.updated)' }),
  })
  .openapi('PlanChange');

const routes = {
  cancel: createRoute({
    method: 'post',
    path: '/v1/workspaces/{ws}/servers/{id}/subscription/cancel',
    tags: ['billing'],
    security: bearer,
    summary:
      "Cancel the server's subscription at the end of the period: it serves until then, is then suspended for the grace period with a final backup, and deleted after (owners)",
    request: {
      params: ServerParams,
      body: jsonBody(
        z.strictObject({ confirmDomain: z.string().max(253).openapi({ description: "The server's domain name, typed to confirm", example: 'example.com' }) }),
      ),
    },
    responses: { 200: jsonResponse(Cancellation, 'Cancelled at the end of the period'), ...problems(400, 401, 403, 404, 409, 502) },
  }),
  undo: createRoute({
    method: 'post',
    path: '/v1/workspaces/{ws}/servers/{id}/subscription/resume',
    tags: ['billing'],
    security: bearer,
    summary: 'Undo a cancellation before the period ends: the subscription renews (owners)',
    request: { params: ServerParams },
    responses: { 200: jsonResponse(Cancellation, 'The subscription renews'), ...problems(401, 403, 404, 409, 502) },
  }),
  plan: createRoute({
    method: 'post',
    path: '/v1/workspaces/{ws}/servers/{id}/subscription/plan',
    tags: ['billing'],
    security: bearer,
    summary:
      "Change the server's plan, prorated by Stripe; a plan on a larger instance or disk rebuilds the server onto it (backup first). A smaller plan the server does not fit in is refused (owners)",
    request: { params: ServerParams, body: jsonBody(z.strictObject({ plan: z.string().min(1).max(40).openapi({ example: 'business' }) })) },
    responses: { 202: jsonResponse(PlanChange, 'Asked of Stripe; applied when Stripe confirms'), ...problems(400, 401, 403, 404, 409, 502) },
  }),
};

export function registerServerBillingRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  const billingDeps = { database: p.database, billing: p.billing, queue: p.queue, clock: deps.clock };
  app.openapi(routes.cancel, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(deps.db, c.get('principal'), ws, 'billing.cancel');
    return c.json(await cancelServer(billingDeps, c.get('actor'), access, id, c.req.valid('json').confirmDomain), 200);
  });
  app.openapi(routes.undo, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(deps.db, c.get('principal'), ws, 'billing.cancel');
    return c.json(await undoCancellation(billingDeps, c.get('actor'), access, id), 200);
  });
  app.openapi(routes.plan, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspace(deps.db, c.get('principal'), ws, 'billing.change_plan');
    const result = await changePlan(
      { ...billingDeps, plans: deps.config.product.plans, placements: p.placements },
      c.get('actor'),
      access,
      id,
      c.req.valid('json').plan,
    );
    return c.json(result, 202);
  });
}
