/**
 * Stripe's idempotent requests: a POST carrying `Idempotency-Key` is executed
 * once per (API key, idempotency key); a repeat gets the saved status and body
 * back with `Idempotent-Replayed: true`. Reusing a key with other parameters is
 * a 400 idempotency_error. As at Stripe, a request rejected before it ran
 * (auth, validation) saves nothing, so fixing it and retrying with the same key works;
 * but once the endpoint ran, its answer is saved whatever it was — a card error (402) or
 * a 500 too (Stripe: "including 500 errors"), so a client that retries a 500 with the same
 * key gets the 500 again for a day and must use a new key for a new attempt. A second
 * request while the first with the same key is still running is refused with 409 and
 * saves nothing. Stripe prunes keys after 24 hours: the same key then runs the request again.
 */
import type { MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { errorBody } from './wire.ts';

interface Saved {
  method: string;
  path: string;
  params: string;
  status: number;
  body: string;
  savedAt: number;
}

const KEY_LIFETIME_MS = 24 * 3600_000;

function canonicalParams(body: string): string {
  const params = new URLSearchParams(body);
  params.sort();
  return params.toString();
}

/** The endpoint began executing: its answer is the request's result (4xx other than 402 are validation refusals). */
const ranToCompletion = (status: number) => (status >= 200 && status < 300) || status === 402 || status >= 500;

export class IdempotencyStore {
  private readonly saved = new Map<string, Saved>();
  private readonly inFlight = new Set<string>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const key = c.req.header('Idempotency-Key');
      if (c.req.method !== 'POST' || !key) return next();
      const scope = `${c.req.header('Authorization') ?? ''}\n${key}`;
      const params = canonicalParams(await c.req.text());
      let previous = this.saved.get(scope);
      if (previous && this.now() - previous.savedAt >= KEY_LIFETIME_MS) {
        this.saved.delete(scope);
        previous = undefined;
      }
      if (previous) {
        if (previous.method !== c.req.method || previous.path !== c.req.path || previous.params !== params) {
          return c.json(
            errorBody(
              'idempotency_error',
              `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
            ),
            400,
          );
        }
        c.header('Idempotent-Replayed', 'true');
        c.header('Idempotency-Key', key);
        return c.body(previous.body, previous.status as ContentfulStatusCode, { 'Content-Type': 'application/json' });
      }
      if (this.inFlight.has(scope)) {
        return c.json(
          errorBody(
            'invalid_request_error',
            `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
          ),
          409,
        );
      }
      this.inFlight.add(scope);
      try {
        await next();
      } finally {
        this.inFlight.delete(scope);
      }
      c.res.headers.set('Idempotency-Key', key);
      if (ranToCompletion(c.res.status)) {
        const body = await c.res.clone().text();
        this.saved.set(scope, { method: c.req.method, path: c.req.path, params, status: c.res.status, body, savedAt: this.now() });
      }
    };
  }
}
