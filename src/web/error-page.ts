/**
 * Errors on dashboard pages become pages, not problem+json: a refusal shows
 * its sentence with a way back, a lost session goes to sign-in, and anything
 * unexpected is logged and shown with the request id to quote to support.
 */
import { html } from 'hono/html';
import { CLIENT_CLOSED_REQUEST, clientWentAway } from '../api/problem.ts';
import { AppError } from '../errors.ts';
import { renderPage } from './layout.ts';
import type { WebContext } from './web-env.ts';

export function renderError(err: Error, c: WebContext): Response | Promise<Response> {
  if (err instanceof AppError && err.status === 401) return c.redirect('/login', 303);
  const user = c.get('user') ?? null;
  if (err instanceof AppError && err.status < 500) {
    const status = ([400, 403, 404, 409, 429] as const).find((s) => s === err.status) ?? 400;
    return renderPage(c, {
      title: status === 404 ? 'Not found' : err.title,
      user,
      status,
      body: html`<p>${err.detail ?? err.title}</p><p><a href="/">Back to your workspaces</a></p>`,
    });
  }
  // A form whose sender hung up mid-body is the client's doing, as on the API (src/api/problem.ts).
  if (clientWentAway(err, c)) {
    c.get('log')?.info('client went away before sending its whole request');
    return new Response(null, { status: CLIENT_CLOSED_REQUEST });
  }
  c.get('log')?.error({ err }, 'dashboard page failed');
  return renderPage(c, {
    title: 'Something went wrong',
    user,
    status: 500,
    body: html`<p>Something went wrong on our side. If it keeps happening, quote this reference to support: <code>${c.get('requestId') ?? 'n/a'}</code>.</p>`,
  });
}
