/**
 * Starts an emulator's Hono app on 127.0.0.1 (never another interface) and
 * returns its base URL and a close function.
 */
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** What a Hono app of any Env offers to a server: `app.fetch`. */
export interface FetchHandler {
  fetch(request: Request): Response | Promise<Response>;
}

export function serveOnLoopback(app: FetchHandler, port = 0): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            if ('closeAllConnections' in server) (server as { closeAllConnections(): void }).closeAllConnections();
            server.close(() => done());
          }),
      });
    });
    server.once('error', reject);
  });
}

/**
 * Serves on the port it had before a restart when that port is still free (links handed out
 * earlier, such as a checkout page, keep working), on any free port otherwise.
 */
export async function serveOnLoopbackPreferring(app: FetchHandler, preferredPort: number | undefined): Promise<RunningServer> {
  if (preferredPort) {
    try {
      return await serveOnLoopback(app, preferredPort);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  return serveOnLoopback(app);
}
