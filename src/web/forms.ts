/** Reading form posts and turning domain refusals into sentences for the page. */
import type { Context } from 'hono';
import { html } from 'hono/html';
import { AppError, RateLimitedError } from '../errors.ts';
import type { RateLimiter } from '../api/middleware/rate-limit.ts';
import type { WebContext } from './web-env.ts';

export async function formOf(c: Context): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The message a page shows for a refused action; anything unexpected is rethrown (500, logged). */
export function refusal(err: unknown): string {
  if (err instanceof AppError && err.status < 500) {
    const fields = (err.extensions?.['errors'] as Array<{ message: string }> | undefined)?.map((e) => e.message);
    return err.detail ?? fields?.join('; ') ?? err.title;
  }
  throw err;
}

/** Sign-in style forms share the API's per-IP limit on /v1/auth/*. */
export function hitLimit(limiter: RateLimiter, c: WebContext): void {
  const waitMs = limiter.hit(`ip:${c.get('clientIp') ?? 'unknown'}`);
  if (waitMs > 0) throw new RateLimitedError(waitMs, `Too many attempts from your address; wait ${Math.ceil(waitMs / 1000)} seconds and try again.`);
}

export const field = (o: {
  name: string;
  label: string;
  type?: string;
  value?: string;
  autocomplete?: string;
  hint?: string;
  required?: boolean;
  extra?: Record<string, string>;
}) => {
  const id = `f-${o.name}`;
  // The hint sits outside the label (announced through aria-describedby), so the field's name is just its label.
  return html`<div><label for="${id}">${o.label}</label>${o.hint ? html`<span class="hint" id="${id}-hint">${o.hint}</span>` : ''}
<input id="${id}" name="${o.name}" type="${o.type ?? 'text'}" value="${o.value ?? ''}" ${o.autocomplete ? html`autocomplete="${o.autocomplete}"` : ''} ${o.hint ? html`aria-describedby="${id}-hint"` : ''} ${o.required === false ? '' : 'required'}></div>`;
};

export const copyable = (id: string, value: string, label: string) =>
  html`<div class="row"><code id="${id}" class="secret">${value}</code><button type="button" class="secondary" data-copy="${id}" aria-label="Copy ${label}">Copy</button></div>`;
