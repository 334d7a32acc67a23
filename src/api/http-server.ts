/**
 * The Node HTTP server around the Hono app. Two things Hono cannot do itself:
 *
 * - Answer what Node's parser refuses before any middleware runs (headers over
 *   `maxHeaderSize` → 431, a malformed request → 400, a slow request → 408).
 *   Node's default writes a bare status line; here it is the API's one
 *   problem+json format. The parser cannot resume after such an error, so the
 *   connection is closed after the answer. `err.rawPacket` holds the request's
 *   bytes (Authorization included) and is never logged.
 * - Stop: `close()` stops accepting, lets requests in flight finish, then
 *   closes what is still open after a grace period (event streams never end by
 *   themselves), so shutdown cannot hang on a client.
 */
import { serve, type HttpBindings } from '@hono/node-server';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../log.ts';
import type { App } from './env.ts';
import { PROBLEM_CONTENT_TYPE, problemBody, type ProblemInput } from './problem.ts';

export interface HttpListener {
  server: Server;
  url: string;
  port: number;
  close(graceMs?: number): Promise<void>;
}

const PARSER_PROBLEMS: Record<string, ProblemInput> = {
  HPE_HEADER_OVERFLOW: {
    code: 'request_header_fields_too_large',
    status: 431,
    title: 'Request header fields too large',
    detail: 'The request headers are larger than the server accepts',
  },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'request_timeout', status: 408, title: 'Request timeout', detail: 'The request was not received in time' },
};
const MALFORMED: ProblemInput = { code: 'malformed_request', status: 400, title: 'Malformed request', detail: 'The request is not valid HTTP/1.1' };
const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

function answerParserError(err: NodeJS.ErrnoException, socket: Socket, log: Logger): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const problem = PARSER_PROBLEMS[err.code ?? ''] ?? MALFORMED;
  const requestId = randomUUID();
  const body = JSON.stringify(problemBody(problem, { requestId }));
  log.info({ status: problem.status, code: err.code, requestId }, 'request refused by the HTTP parser');
  socket.end(
    [
      `HTTP/1.1 ${problem.status} ${REASONS[problem.status] ?? 'Error'}`,
      `content-type: ${PROBLEM_CONTENT_TYPE}`,
      `content-length: ${Buffer.byteLength(body)}`,
      'cache-control: no-store',
      'x-content-type-options: nosniff',
      `x-request-id: ${requestId}`,
      'connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}

/**
 * A refused request (413, 401 before the body is read, …) leaves the rest of its body on the
 * wire; the connection can serve the next request only once those bytes are read. Hono's
 * Node adapter drains with a 500 ms timer that fires even when the stream it drains is
 * paused by its own web-stream wrapper, killing healthy keep-alive connections after any
 * refusal of a body over ~64 KB. Here the unread rest is discarded directly, up to a budget;
 * a body larger than that closes the connection instead, announced by `Connection: close`.
 */
const DISCARD_MAX_BYTES = 16 * 1024 * 1024;
const DISCARD_MAX_MS = 10_000;

function discardUnreadBody(incoming: IncomingMessage): void {
  if (incoming.readableEnded || incoming.destroyed) return;
  // Detach the adapter's web-stream reader, which would pause the socket again once its queue fills.
  incoming.removeAllListeners('data');
  let bytes = 0;
  const giveUp = () => incoming.socket?.destroy();
  const timer = setTimeout(giveUp, DISCARD_MAX_MS);
  timer.unref();
  incoming.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > DISCARD_MAX_BYTES) giveUp();
  });
  incoming.once('end', () => clearTimeout(timer));
  incoming.once('close', () => clearTimeout(timer));
  incoming.resume();
}

export async function listenHttp(app: App, opts: { host: string; port: number; log: Logger }): Promise<HttpListener> {
  // We serve HTTP/1.1 only (no createServer option), so the bindings are http's.
  const fetch = async (request: Request, env: HttpBindings): Promise<Response> => {
    env.outgoing.once('finish', () => discardUnreadBody(env.incoming));
    const response = await app.fetch(request, env);
    const declared = Number(env.incoming.headers['content-length'] ?? 0);
    if (declared > DISCARD_MAX_BYTES && !env.incoming.readableEnded) response.headers.set('connection', 'close');
    return response;
  };
  const server = await new Promise<Server>((resolve, reject) => {
    // autoCleanupIncoming: off, replaced by discardUnreadBody above.
    const s = serve({ fetch: fetch as (r: Request, env: unknown) => Promise<Response>, hostname: opts.host, port: opts.port, autoCleanupIncoming: false }, () =>
      resolve(s as Server),
    );
    s.once('error', reject);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => answerParserError(err, socket, opts.log));
  const info = server.address() as AddressInfo;
  const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
  return {
    server,
    url: `http://${host}:${info.port}`,
    port: info.port,
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        // Idle keep-alive connections would otherwise hold close() until they time out.
        server.closeIdleConnections();
      }),
  };
}
