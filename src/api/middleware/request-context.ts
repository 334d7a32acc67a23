/**
 * Request id, client IP, a child logger and one log line per request. The line
 * carries method, path, status and duration only — never headers or bodies,
 * which is where secrets travel.
 */
import type { MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { Logger } from '../../log.ts';
import type { AppEnv } from '../env.ts';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

export function requestContext(opts: { log: Logger; trustProxy: boolean }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const given = c.req.header('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    c.set('requestId', requestId);
    c.header('x-request-id', requestId);
    let ip: string | null = null;
    // A forwarded value that is not an address is ignored, not stored (it reaches inet columns).
    if (opts.trustProxy) ip = c.req.header('x-forwarded-for')?.split(',')[0]?.trim() || null;
    if (ip !== null && isIP(ip) === 0) ip = null;
    if (!ip) {
      try {
        ip = getConnInfo(c).remote.address ?? null;
      } catch {
        ip = null; // app.request() in tests has no socket
      }
    }
    if (ip?.startsWith('::ffff:')) ip = ip.slice(7);
    c.set('clientIp', ip);
    const log = opts.log.child({ requestId });
    c.set('log', log);
    await next();
    // Error and not-found answers are built as fresh Responses, which drop headers set with c.header()
    // before next(); set the id on whatever response goes out so every problem can be traced.
    c.res.headers.set('x-request-id', requestId);
    log.info({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started), ip }, 'request');
  };
}
