/**
 * RFC 9457 problem details: the one error format of the API. Domain errors
 * map through their own status/code; zod failures list the offending fields;
 * anything unexpected is logged with its stack and answered 500 without detail.
 */
import type { Context } from 'hono';
import type { IncomingMessage } from 'node:http';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { AppError } from '../errors.ts';
import type { AppEnv } from './env.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: string;
  requestId?: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemInput {
  code: string;
  status: number;
  title: string;
  detail?: string;
  [extension: string]: unknown;
}

/** The one problem body; also written by the HTTP server for errors raised before Hono runs. */
export function problemBody(problem: ProblemInput, where: { instance?: string; requestId?: string }): Problem {
  return { type: `urn:mailplane:problem:${problem.code}`, ...problem, ...where };
}

export function problemResponse(c: Context<AppEnv>, problem: ProblemInput, headers: Record<string, string> = {}): Response {
  const body = problemBody(problem, { instance: c.req.path, requestId: c.get('requestId') });
  return new Response(JSON.stringify(body), {
    status: problem.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', ...headers },
  });
}

export function zodProblem(c: Context<AppEnv>, error: ZodError, where: string): Response {
  const errors = error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  return problemResponse(c, {
    code: 'validation_failed',
    status: 400,
    title: 'Invalid request',
    detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
    errors,
  });
}

/** A path that names nothing: the same 404 as an id that does not exist, saying which segment is malformed. */
export function pathProblem(c: Context<AppEnv>, error: ZodError): Response {
  const errors = error.issues.map((i) => ({ path: ['path', ...i.path.map(String)].join('.'), message: i.message }));
  return problemResponse(c, {
    code: 'not_found',
    status: 404,
    title: 'Not found',
    detail: `Nothing has this id (${errors.map((e) => `${e.path}: ${e.message}`).join('; ')})`,
    errors,
  });
}

/**
 * The client went away while we read its body (a reset, or a close before Content-Length bytes):
 * Node destroys the request stream with `ECONNRESET` "aborted". That is the client's doing, not
 * ours, so it is neither logged as an error nor counted as a 500: anyone could fill the error log
 * by hanging up. Judged by the error's code and, when there is a socket, by the request stream
 * itself (an outbound call reset by a provider is not this).
 */
const CLIENT_GONE_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

export function clientWentAway(err: unknown, c: Context): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (!(code && CLIENT_GONE_CODES.has(code)) && err.name !== 'AbortError') return false;
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming) return !incoming.complete && (incoming.destroyed || incoming.errored !== null);
  return c.req.raw.signal.aborted;
}

/** nginx's "client closed request": no one reads this answer; it is for the access log. */
export const CLIENT_CLOSED_REQUEST = 499;

export function errorToProblem(err: unknown, c: Context<AppEnv>): Response {
  if (clientWentAway(err, c)) {
    c.get('log')?.info({ code: (err as NodeJS.ErrnoException).code }, 'client went away before sending its whole request');
    return problemResponse(c, {
      code: 'client_closed_request',
      status: CLIENT_CLOSED_REQUEST,
      title: 'Client closed request',
      detail: 'The request body ended before its announced length',
    });
  }
  if (err instanceof AppError) {
    const headers: Record<string, string> = {};
    if (err.status === 429 && err.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
    if (err.status >= 500) c.get('log')?.error({ err, code: err.code }, 'request failed');
    return problemResponse(
      c,
      { code: err.code, status: err.status, title: err.title, ...(err.detail ? { detail: err.detail } : {}), ...err.extensions },
      headers,
    );
  }
  if (err instanceof HTTPException) {
    const status = err.status;
    const code = status === 413 ? 'payload_too_large' : status === 400 ? 'malformed_request' : `http_${status}`;
    const title = status === 413 ? 'Payload too large' : status === 400 ? 'Malformed request' : 'Request failed';
    return problemResponse(c, { code, status, title, detail: err.message || title });
  }
  c.get('log')?.error({ err }, 'unhandled error');
  return problemResponse(c, {
    code: 'internal_error',
    status: 500,
    title: 'Internal server error',
    detail: 'Something went wrong on our side; quote the requestId to support.',
  });
}
