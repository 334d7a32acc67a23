/**
 * The dashboard's counterpart of the API's path schemas (`pathId` in src/api/openapi.ts): an id
 * in a page's path that is not a UUID, or an address that is not an IP, names nothing and is
 * answered with the not-found page before any page handler runs — a malformed id used to reach
 * PostgreSQL as `invalid input syntax for type uuid`, a 500. One guard over every pattern with
 * parameters, so a new page under these prefixes is covered without thinking about it.
 */
import type { MiddlewareHandler } from 'hono';
import { isIP } from 'node:net';
import { NotFoundError } from '../errors.ts';
import type { WebEnv } from './web-env.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Hono's `/x/:id/*` also matches `/x/:id`, so each pattern covers the page and everything below it. */
export const ID_PATTERNS = [
  '/w/:ws/*',
  '/w/:ws/servers/:id/*',
  '/w/:ws/servers/:id/mailboxes/:mb/*',
  '/w/:ws/api-keys/:id/*',
  '/w/:ws/invitations/:id/*',
  '/w/:ws/members/:uid/*',
  '/support/servers/:id/*',
  '/ops/alerts/:id/*',
  '/ops/servers/:id/*',
  '/ops/servers/:id/ips/:ip/*',
  '/sandbox/mail/:id',
];

const CHECKS: Record<string, (value: string) => boolean> = {
  ws: (v) => UUID.test(v),
  id: (v) => UUID.test(v),
  mb: (v) => UUID.test(v),
  uid: (v) => UUID.test(v),
  ip: (v) => v.length <= 45 && isIP(v) !== 0,
};

export function wellFormedPathIds(): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    for (const [name, value] of Object.entries(c.req.param() as Record<string, string>)) {
      const check = CHECKS[name];
      if (check && !check(value)) throw new NotFoundError('Page');
    }
    await next();
  };
}
