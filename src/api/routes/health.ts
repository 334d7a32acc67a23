/** GET /healthz (process up) and GET /readyz (dependencies answer). */
import { createRoute, z } from '@hono/zod-openapi';
import type { ApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { jsonResponse } from '../openapi.ts';

const Checks = z.object({ status: z.enum(['ok', 'unavailable']), checks: z.record(z.string(), z.enum(['ok', 'failed'])) });

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['health'],
  summary: 'Liveness',
  responses: { 200: jsonResponse(z.object({ status: z.literal('ok') }), 'Process is up') },
});
const readyz = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['health'],
  summary: 'Readiness: database and job queue reachable',
  responses: { 200: jsonResponse(Checks, 'Ready'), 503: jsonResponse(Checks, 'Not ready') },
});

export function registerHealthRoutes(app: App, deps: ApiDeps): void {
  app.openapi(healthz, (c) => c.json({ status: 'ok' as const }, 200));
  app.openapi(readyz, async (c) => {
    const entries = await Promise.all(
      Object.entries(deps.readiness).map(async ([name, check]) => {
        const ok = await Promise.race([check().catch(() => false), new Promise<false>((r) => setTimeout(() => r(false), 2000).unref())]);
        return [name, ok ? 'ok' : 'failed'] as const;
      }),
    );
    const checks = Object.fromEntries(entries);
    const ready = entries.every(([, v]) => v === 'ok');
    c.header('cache-control', 'no-store');
    return ready ? c.json({ status: 'ok' as const, checks }, 200) : c.json({ status: 'unavailable' as const, checks }, 503);
  });
}
