/** `mailplane [all|api|worker]`: run the API, the workers, or both in one process. */
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createApp } from '../api/app.ts';
import { apiDeps, createAppContext } from '../app-context.ts';
import { productRegistrars } from '../web/registrars.ts';
import { startWorkers } from '../workers.ts';
import { bootstrap } from './bootstrap.ts';
import type { Command } from './command.ts';

export type Role = 'all' | 'api' | 'worker';

export async function runRoles(role: Role): Promise<number> {
  const { config, log } = await bootstrap();
  const api = role === 'all' || role === 'api';
  const worker = role === 'all' || role === 'worker';
  const ctx = await createAppContext(config, log, { worker });
  let server: ReturnType<typeof serve> | null = null;

  if (worker) await startWorkers(ctx);
  if (api) {
    const deps = apiDeps(ctx);
    const app = createApp(deps, productRegistrars(ctx, deps));
    server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname: config.http.host, port: config.http.port }, (info: AddressInfo) => {
        const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
        log.info(`mailplane listening on http://${host}:${info.port} (API docs at /docs)`);
        resolve(s);
      });
      s.once('error', reject);
    });
  }
  log.info({ role }, 'mailplane started');

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  await ctx.close();
  log.info('stopped');
  return 0;
}

export function roleCommand(role: Role, summary: string): Command {
  return {
    name: role,
    usage: `mailplane ${role}\n\n${summary}\nReads configuration from the environment (see .env.example).`,
    run: () => runRoles(role),
  };
}
