/**
 * GET /metrics for Prometheus. Access: with METRICS_TOKEN set, only
 * `Authorization: Bearer <token>` (compared in constant time); without it, only
 * clients on the loopback interface — a fresh install does not publish its
 * numbers to the internet by default.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthorizedError } from '../../errors.ts';
import { collectMetrics } from '../../ops/metrics.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../../ops/prometheus.ts';
import type { ApiDeps, ProvisioningApiDeps } from '../deps.ts';
import type { App } from '../env.ts';
import { problems } from '../openapi.ts';

const route = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['ops'],
  summary: 'Prometheus metrics (Bearer METRICS_TOKEN, or loopback when no token is set)',
  responses: {
    200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: z.string() } } },
    ...problems(401, 403),
  },
});

const digest = (s: string) => createHash('sha256').update(s).digest();
const isLoopback = (ip: string | null) => ip !== null && (ip === '::1' || ip.startsWith('127.'));

export function registerMetricsRoutes(app: App, deps: ApiDeps, p: ProvisioningApiDeps): void {
  const token = deps.config.ops.metricsToken;
  app.openapi(route, async (c) => {
    if (token) {
      const given = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
      // Hashing first gives equal lengths, so the comparison time says nothing about the token.
      if (!given || !timingSafeEqual(digest(given), digest(token))) throw new UnauthorizedError('A valid metrics token is required');
    } else if (!isLoopback(c.get('clientIp'))) {
      throw new ForbiddenError('Set METRICS_TOKEN to scrape /metrics from another host');
    }
    const text = await collectMetrics(p);
    return c.text(text, 200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
  });
}
