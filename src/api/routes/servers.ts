/** A workspace's servers: list, detail, DNS view, live events (SSE). */
import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { expectedAnswer } from '../../servers/dns-view.ts';
import { findServer, listServers, publishedRecords, serverDetail } from '../../servers/views.ts';
import { authorizeWorkspace } from '../../workspaces/access.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { bearer, jsonResponse, problems, WorkspaceParam } from '../openapi.ts';

const ServerParams = WorkspaceParam.extend({ id: z.string().openapi({ param: { name: 'id', in: 'path' } }) });
const Any = z.record(z.string(), z.unknown());

const tag = ['servers'];
const routes = {
  list: createRoute({ method: 'get', path: '/v1/workspaces/{ws}/servers', tags: tag, summary: 'Servers of a workspace', security: bearer,
    request: { params: WorkspaceParam }, responses: { 200: jsonResponse(z.object({ servers: z.array(Any) }), 'Servers'), ...problems(401, 404) } }),
  get: createRoute({ method: 'get', path: '/v1/workspaces/{ws}/servers/{id}', tags: tag, summary: 'A server with its IPs and provisioning steps', security: bearer,
    request: { params: ServerParams }, responses: { 200: jsonResponse(Any, 'The server'), ...problems(401, 404) } }),
  dns: createRoute({ method: 'get', path: '/v1/workspaces/{ws}/servers/{id}/dns', tags: tag, summary: 'Expected DNS records, what DNS answers now, DNSSEC and nameservers', security: bearer,
    request: { params: ServerParams }, responses: { 200: jsonResponse(Any, 'DNS view'), ...problems(401, 404) } }),
  events: createRoute({ method: 'get', path: '/v1/workspaces/{ws}/servers/{id}/events', tags: tag, summary: 'Server-Sent Events: step started/succeeded/failed as they happen', security: bearer,
    request: { params: ServerParams }, responses: { 200: { description: 'text/event-stream' }, ...problems(401, 404) } }),
};

export function registerServerRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  const { db } = deps;
  const load = async (principal: Parameters<typeof authorizeWorkspace>[1], ws: string, id: string) => {
    const access = await authorizeWorkspace(db, principal, ws, 'servers.read');
    return findServer(db, id, access.workspaceId);
  };

  app.openapi(routes.list, async (c) => {
    const access = await authorizeWorkspace(db, c.get('principal'), c.req.valid('param').ws, 'servers.read');
    return c.json({ servers: await listServers(db, { workspaceId: access.workspaceId }) }, 200);
  });

  app.openapi(routes.get, async (c) => {
    const { ws, id } = c.req.valid('param');
    return c.json(await serverDetail(db, await load(c.get('principal'), ws, id), { withLogs: false }), 200);
  });

  app.openapi(routes.dns, async (c) => {
    const { ws, id } = c.req.valid('param');
    const server = await load(c.get('principal'), ws, id);
    const records = await publishedRecords(db, server.id);
    const live = await Promise.all(records.map(async (r) => {
      const { type, expected } = expectedAnswer(r, server);
      if (!type) return { answers: [] as string[], matches: null as boolean | null };
      const res = await p.lookup.lookup(r.name, type);
      const answers = res.status === 'ok' ? res.answers : [];
      return { answers, matches: answers.some((a) => a.toLowerCase().replace(/\.$/, '') === expected.toLowerCase()) };
    }));
    return c.json({
      domain: server.domain,
      nameServers: server.nameServers ?? [],
      dnssec: { status: server.dnssecStatus, ds: server.dnssecDs },
      instructions: server.nameServers?.length
        ? `At your registrar, set the nameservers of ${server.domain} to ${server.nameServers.join(', ')}${server.dnssecDs ? ` and add the DS record ${server.dnssecDs}` : ''}.`
        : 'DNS is not published yet.',
      records: records.map((r, i) => ({ purpose: r.purpose, type: r.type, name: r.name, content: r.content, priority: r.priority, live: live[i] })),
    }, 200);
  });

  app.openapi(routes.events, async (c) => {
    const { ws, id } = c.req.valid('param');
    const server = await load(c.get('principal'), ws, id);
    return streamSSE(c, async (stream) => {
      const queue: string[] = [];
      let wake: (() => void) | null = null;
      const unsubscribe = await p.events.subscribe(server.id, (event) => {
        queue.push(JSON.stringify(event));
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      const snapshot = await serverDetail(db, await findServer(db, server.id), { withLogs: false });
      await stream.writeSSE({ event: 'snapshot', data: JSON.stringify(snapshot) });
      while (!stream.aborted) {
        const next = queue.shift();
        if (next) {
          const type = (JSON.parse(next) as { type: string }).type;
          await stream.writeSSE({ event: type, data: next });
          continue;
        }
        // Wait for an event, with a comment line every 15 s so proxies keep the stream open.
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 15_000).unref();
        });
        wake = null;
        if (queue.length === 0 && !stream.aborted) await stream.write(': keep-alive\n\n');
      }
      unsubscribe();
    });
  });
}
