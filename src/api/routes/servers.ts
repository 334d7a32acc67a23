/** A workspace's servers: list, detail, DNS view, live events (SSE). */
import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { ProvisioningEvent } from '../../../provisioning/events.ts';
import { eventId, eventsSince, nothingMoreToCome, parseLastEventId } from '../../servers/event-replay.ts';
import { customerRecordsOf, presentCustomerRecord, spfView } from '../../customer-dns/service.ts';
import { dkimKeysView } from '../../servers/dkim-view.ts';
import { dnssecView, expectedAnswer } from '../../servers/dns-view.ts';
import { ptrView } from '../../health/ptr-view.ts';
import { findServer, listServers, publishedRecords, serverDetail } from '../../servers/views.ts';
import { authorizeWorkspace, authorizeWorkspaceWith } from '../../workspaces/access.ts';
import { cachedMembership, cachedServerDetail } from '../cached-reads.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { bearer, jsonResponse, problems, ServerParams, WorkspaceParam } from '../openapi.ts';
import { DnsView, ServerDetail, ServerSummary } from './server-schemas.ts';

const tag = ['servers'];
const routes = {
  list: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}/servers',
    tags: tag,
    summary: 'Servers of a workspace',
    security: bearer,
    request: { params: WorkspaceParam },
    responses: { 200: jsonResponse(z.object({ servers: z.array(ServerSummary) }), 'Servers'), ...problems(401, 404) },
  }),
  get: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}/servers/{id}',
    tags: tag,
    summary: 'A server with its IPs and provisioning steps',
    security: bearer,
    request: { params: ServerParams },
    responses: { 200: jsonResponse(ServerDetail, 'The server'), ...problems(401, 404) },
  }),
  dns: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}/servers/{id}/dns',
    tags: tag,
    summary: 'Expected DNS records, what DNS answers now, DNSSEC and nameservers, reverse DNS (PTR) and the DKIM keys with their rotation states',
    security: bearer,
    request: { params: ServerParams },
    responses: { 200: jsonResponse(DnsView, 'DNS view'), ...problems(401, 404) },
  }),
  events: createRoute({
    method: 'get',
    path: '/v1/workspaces/{ws}/servers/{id}/events',
    tags: tag,
    summary:
      'Server-Sent Events: step started/succeeded/failed as they happen. Each event has an id; reconnecting with Last-Event-ID replays what was missed. The stream ends with an `end` event when no run is in progress',
    security: bearer,
    request: { params: ServerParams },
    responses: { 200: { description: 'text/event-stream' }, ...problems(401, 404) },
  }),
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

  // The one route clients poll (a dashboard, a script waiting for `ready`): served from this process's
  // read cache when it can be, with no database work at all (read-cache.ts says how it stays true).
  const membership = cachedMembership(deps.readCache, db);
  app.openapi(routes.get, async (c) => {
    const { ws, id } = c.req.valid('param');
    const access = await authorizeWorkspaceWith(membership, c.get('principal'), ws, 'servers.read');
    return c.json(await cachedServerDetail(deps.readCache, db, id, access.workspaceId), 200);
  });

  app.openapi(routes.dns, async (c) => {
    const { ws, id } = c.req.valid('param');
    const server = await load(c.get('principal'), ws, id);
    const records = await publishedRecords(db, server.id);
    const checkLive = async (r: (typeof records)[number]) => {
      const { type, expected } = expectedAnswer(r, server);
      if (!type) return { answers: [] as string[], matches: null as boolean | null };
      const res = await p.lookup.lookup(r.name, type);
      const answers = res.status === 'ok' ? res.answers : [];
      // Both sides alike: an SRV "not offered" answer ends in "." on both.
      const norm = (v: string) => v.toLowerCase().replace(/\.$/, '');
      return { answers, matches: answers.some((a) => norm(a) === norm(expected)) };
    };
    const recordViews = await Promise.all(
      records.map(async (r) => ({ purpose: r.purpose, type: r.type, name: r.name, content: r.content, priority: r.priority, live: await checkLive(r) })),
    );
    const [theirs, ptr, dkimKeys] = await Promise.all([customerRecordsOf(db, server.id), ptrView(p.lookup, db, server.id), dkimKeysView(db, server.id)]);
    return c.json(
      {
        domain: server.domain,
        nameServers: server.nameServers ?? [],
        dnssec: dnssecView(server),
        instructions: server.nameServers?.length
          ? `Check the records imported from your current DNS (customerRecords) and add any that are missing, then at your registrar set the nameservers of ${server.domain} to ${server.nameServers.join(', ')}${server.dnssecDs ? ` and add the DS record ${server.dnssecDs}` : ''}.`
          : 'DNS is not published yet.',
        records: recordViews,
        importedAt: server.dnsImportedAt?.toISOString() ?? null,
        customerRecords: theirs.map(presentCustomerRecord),
        spf: await spfView(p.lookup, server),
        // Reverse DNS (set by mailplane at Scaleway, not in the zone), as the DNS page shows it.
        ptr,
        // Every DKIM key generation: signing, retiring (still published), revoked (empty p=), deleted; and its next transition.
        dkimKeys,
      },
      200,
    );
  });

  app.openapi(routes.events, async (c) => {
    const { ws, id } = c.req.valid('param');
    const server = await load(c.get('principal'), ws, id);
    const resumeFrom = parseLastEventId(c.req.header('last-event-id'));
    return streamSSE(c, async (stream) => {
      const queue: ProvisioningEvent[] = [];
      let wake: (() => void) | null = null;
      // Subscribed before reading the database, so nothing falls between the read and the live feed.
      const unsubscribe = await p.events.subscribe(server.id, (event) => {
        queue.push(event);
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      let lastSent = Date.now();
      // Nothing is dropped as "already seen": an event committed just after the snapshot was read
      // may carry an earlier time, and a duplicate costs a client less than a gap.
      const send = async (event: ProvisioningEvent) => {
        lastSent = Date.parse(event.at);
        await stream.writeSSE({ id: eventId(event.at), event: event.type, data: JSON.stringify(event) });
      };
      // A finished server's stream ends with a last message saying so, instead of keep-alives forever.
      const endIfIdle = async () => {
        if (queue.length > 0 || !(await nothingMoreToCome(db, server.id))) return false;
        await stream.writeSSE({ id: String(lastSent), event: 'end', data: JSON.stringify({ reason: 'no run in progress; reconnect after starting one' }) });
        return true;
      };

      if (resumeFrom) {
        for (const event of await eventsSince(db, server.id, resumeFrom)) await send(event);
      } else {
        const readAt = new Date();
        const snapshot = await serverDetail(db, await findServer(db, server.id), { withLogs: false });
        lastSent = readAt.getTime();
        await stream.writeSSE({ id: eventId(readAt), event: 'snapshot', data: JSON.stringify(snapshot) });
      }
      if (!stream.aborted && (await endIfIdle())) {
        unsubscribe();
        return;
      }
      while (!stream.aborted) {
        const next = queue.shift();
        if (next) {
          await send(next);
          if ((next.type === 'run.succeeded' || next.type === 'run.failed') && (await endIfIdle())) break;
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
