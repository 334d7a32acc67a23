/** `mailplane [all|api|worker]`: run the API, the workers, or both in one process. */
import { createApp } from '../api/app.ts';
import { listenHttp, type HttpListener } from '../api/http-server.ts';
import { apiDeps, createAppContext } from '../app-context.ts';
import { mailAccountNotifier } from '../mail/account-notifier.ts';
import { productRegistrars } from '../app-routes.ts';
import type { Logger } from '../log.ts';
import { Shutdown } from '../shutdown.ts';
import { startWorkers } from '../workers.ts';
import { bootstrap } from './bootstrap.ts';
import type { Command } from './command.ts';

export type Role = 'all' | 'api' | 'worker';

export async function runRoles(role: Role): Promise<number> {
  const { config, log } = await bootstrap();
  const api = role === 'all' || role === 'api';
  const worker = role === 'all' || role === 'worker';
  // Listen for signals from the start: a SIGTERM while the database starts must still stop it.
  const signals = stopSignals(log);
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
    await signals.stopped;
  } finally {
    // HTTP first (no new work), then jobs, providers and the embedded database (ctx.close),
    // each bounded, the whole within STOP_BUDGET_MS; a second signal hurries what is left.
    const shutdown = new Shutdown({ log, hurry: signals.hurry });
    const listener = http;
    if (listener) await shutdown.step('HTTP connections to close', 2_000, ({ timeoutMs }) => listener.close(timeoutMs));
    await ctx.close(shutdown);
    log.info('stopped');
  }
  return 0;
}

/**
 * `stopped` resolves on SIGINT or SIGTERM, or when the process that started us under npm is gone.
 * `npm start` runs `exec node src/main.ts`, so npm's forwarded signal reaches this process;
 * if npm itself is killed outright (SIGKILL) nothing is forwarded, and a server left behind
 * would hold the port and the embedded database, so a reparented npm child stops itself.
 *
 * Ctrl-C in a terminal signals the whole foreground process group, so node hears it twice
 * (from the terminal and forwarded by npm): the handlers stay installed for the whole life of
 * the process, and a further signal means "hurry" (`hurry` aborts), never "die now" — dying
 * would leave the embedded PostgreSQL running with no one to stop it.
 */
export function stopSignals(log: Logger): { stopped: Promise<void>; hurry: AbortSignal } {
  const hurry = new AbortController();
  let firstAt = 0;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (reason: string) => {
      if (firstAt === 0) {
        firstAt = performance.now();
        clearInterval(watch);
        log.info({ signal: reason }, 'shutting down');
        resolve();
        return;
      }
      // The terminal's copy and npm's forwarded copy of one Ctrl-C arrive together: that is one request.
      if (performance.now() - firstAt < 200 || hurry.signal.aborted) return;
      log.warn({ signal: reason }, 'shutting down: asked again, hurrying (the database is still stopped)');
      hurry.abort();
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    const parent = process.ppid;
    const underNpm = process.env['npm_lifecycle_event'] !== undefined;
    const watch = setInterval(() => {
      if (underNpm && process.ppid !== parent) onSignal('parent npm exited');
    }, 1_000);
    watch.unref();
  });
  return { stopped, hurry: hurry.signal };
}

export function roleCommand(role: Role, summary: string): Command {
  return {
    name: role,
    usage: `mailplane ${role}\n\n${summary}\nReads configuration from the environment (see .env.example).`,
    run: () => runRoles(role),
  };
}
