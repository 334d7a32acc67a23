/**
 * The customer's own DNS records (imported from the domain's DNS before the nameserver move, or added
 * since) and the SPF terms of their other senders. Owners, admins and write keys change them; every
 * change is audited and applied at Cloudflare by the `dns.sync` job (the row shows `pending` until then).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { CUSTOMER_RECORD_TYPES } from '../../customer-dns/record-input.ts';
import {
  addCustomerRecord,
  deleteCustomerRecord,
  presentCustomerRecord,
  setSpfTerms,
  updateCustomerRecord,
  type CustomerDnsDeps,
} from '../../customer-dns/service.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { bearer, jsonBody, jsonResponse, pathId, problems, ServerParams } from '../openapi.ts';

const RecordParams = ServerParams.extend({ recordId: pathId('recordId') });
export const CustomerRecord = z
  .object({
    id: z.string(),
    source: z.enum(['imported', 'customer']).openapi({ description: "imported: found in the domain's DNS before the nameserver move" }),
    type: z.string(),
    name: z.string(),
    content: z.string(),
    priority: z.number().nullable(),
    ttl: z.number(),
    state: z.enum(['pending', 'published', 'deleting', 'failed', 'deleted']),
    error: z.string().nullable(),
    updatedAt: z.string(),
  })
  .openapi('CustomerDnsRecord');
const RecordBody = z.strictObject({
  type: z.enum(CUSTOMER_RECORD_TYPES),
  name: z.string().trim().min(1).max(253).openapi({ description: '"@" for the apex, a name relative to the domain, or a full name inside it' }),
  content: z.string().trim().min(1).max(2048),
  priority: z.number().int().min(0).max(65535).optional().openapi({ description: 'MX only (default 10)' }),
  ttl: z.number().int().optional().openapi({ description: '1 (automatic) or 60..86400 seconds' }),
});
const SpfBody = z.strictObject({
  terms: z
    .array(z.string().trim().min(1).max(300))
    .max(30)
    .openapi({ description: "SPF terms of your other senders (include:, a, mx, ip4:, ip6:, exists:), kept in the SPF record next to the server's addresses" }),
});
const Spf = z.object({ terms: z.array(z.string()), record: z.string(), lookups: z.number() }).openapi('SpfTerms');

const tag = ['dns'];
const base = '/v1/workspaces/{ws}/servers/{id}/dns';
const routes = {
  add: createRoute({
    method: 'post',
    path: `${base}/records`,
    tags: tag,
    security: bearer,
    summary: 'Add a record of your own to the zone (not where mailplane publishes: 409)',
    request: { params: ServerParams, body: jsonBody(RecordBody) },
    responses: { 202: jsonResponse(z.object({ record: CustomerRecord }), 'Recorded; written at Cloudflare by a job'), ...problems(401, 403, 404, 409) },
  }),
  update: createRoute({
    method: 'put',
    path: `${base}/records/{recordId}`,
    tags: tag,
    security: bearer,
    summary: 'Replace one of your records',
    request: { params: RecordParams, body: jsonBody(RecordBody) },
    responses: { 202: jsonResponse(z.object({ record: CustomerRecord }), 'Recorded; written at Cloudflare by a job'), ...problems(401, 403, 404, 409) },
  }),
  remove: createRoute({
    method: 'delete',
    path: `${base}/records/{recordId}`,
    tags: tag,
    security: bearer,
    summary: 'Delete one of your records',
    request: { params: RecordParams },
    responses: { 202: { description: 'Deletion under way' }, ...problems(401, 403, 404, 409) },
  }),
  spf: createRoute({
    method: 'put',
    path: `${base}/spf`,
    tags: tag,
    security: bearer,
    summary: "Set the SPF terms of your other senders (refused with 400 past SPF's 10 DNS lookups)",
    request: { params: ServerParams, body: jsonBody(SpfBody) },
    responses: { 200: jsonResponse(Spf, 'The SPF record as it will be published'), ...problems(401, 403, 404, 409) },
  }),
};

export function registerDnsRecordRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  const { db } = deps;
  const dns: CustomerDnsDeps = { database: p.database, queue: p.queue, lookup: p.lookup, clock: deps.clock };
  const manage = (principal: Parameters<typeof authorizeWorkspace>[1], ws: string) => authorizeWorkspace(db, principal, ws, 'dns.manage');

  app.openapi(routes.add, async (c) => {
    const { ws, id } = c.req.valid('param');
    const row = await addCustomerRecord(dns, c.get('actor'), await manage(c.get('principal'), ws), id, c.req.valid('json'));
    return c.json({ record: presentCustomerRecord(row) }, 202);
  });
  app.openapi(routes.update, async (c) => {
    const { ws, id, recordId } = c.req.valid('param');
    const row = await updateCustomerRecord(dns, c.get('actor'), await manage(c.get('principal'), ws), id, recordId, c.req.valid('json'));
    return c.json({ record: presentCustomerRecord(row) }, 202);
  });
  app.openapi(routes.remove, async (c) => {
    const { ws, id, recordId } = c.req.valid('param');
    await deleteCustomerRecord(dns, c.get('actor'), await manage(c.get('principal'), ws), id, recordId);
    return c.body(null, 202);
  });
  app.openapi(routes.spf, async (c) => {
    const { ws, id } = c.req.valid('param');
    return c.json(await setSpfTerms(dns, c.get('actor'), await manage(c.get('principal'), ws), id, c.req.valid('json').terms), 200);
  });
}
