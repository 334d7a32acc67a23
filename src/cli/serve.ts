/** `mailplane [all|api|worker]`: run the API, the workers, or both in one process. */
import { createApp } from '../api/app.ts';
import { listenHttp, type HttpListener } from '../api/http-server.ts';
import { apiDeps, createAppContext } from '../app-context.ts';
import { mailAccountNotifier } from '../mail/account-notifier.ts';
import { productRegistrars } from '../web/registrars.ts';
import type { Logger } from '../log.ts';
import { startWorkers } from '../workers.ts';
import { bootstrap } from './bootstrap.ts';
import type { Command } from './command.ts';

export type Role = 'all' | 'api' | 'worker';

export async function runRoles(role: Role): Promise<number> {
  const { config, log } = await bootstrap();
  const api = role === 'all' || role === 'api';
  const worker = role === 'all' || role === 'worker';
  // Listen for signals from the start: a SIGTERM while the database starts must still stop it.
  const stopped = stopSignal(log);
  const ctx = await createAppContext(config, log, { worker });
  let http: HttpListener | null = null;
  try {
    if (worker) await startWorkers(ctx);
    if (api) {
      const deps = apiDeps(ctx, mailAccountNotifier({ mailer: ctx.mailer, log, publicUrl: config.http.publicUrl }));
      http = await listenHttp(createApp(deps, productRegistrars(ctx, deps)), { host: config.http.host, port: config.http.port, log });
      log.info(`mailplane listening on ${http.url} (API docs at /docs)`);
    }
    log.info({ role }, 'mailplane started');
    await stopped;
  } finally {
    // HTTP first (no new work), then jobs, providers and the embedded database (ctx.close).
    if (http) await http.close();
    await ctx.close();
    log.info('stopped');
  }
  return 0;
}

/**
 * Resolves on SIGINT or SIGTERM, or when the process that started us under npm is gone.
 * `npm start` runs `exec node src/main.ts`, so npm's forwarded signal reaches this process;
 * if npm itself is killed outright (SIGKILL) nothing is forwarded, and a server left behind
 * would hold the port and the embedded database, so a reparented npm child stops itself.
 */
function stopSignal(log: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (reason: string) => {
      if (stopping) return;
      stopping = true;
      clearInterval(watch);
      log.info({ signal: reason }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    const parent = process.ppid;
    const underNpm = process.env['npm_lifecycle_event'] !== undefined;
    const watch = setInterval(() => {
      if (underNpm && process.ppid !== parent) stop('parent npm exited');
    }, 1_000);
    watch.unref();
  });
}

export function roleCommand(role: Role, summary: string): Command {
  return {
    name: role,
    usage: `mailplane ${role}\n\n${summary}\nReads configuration from the environment (see .env.example).`,
    run: () => runRoles(role),
  };
}
