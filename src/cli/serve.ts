/** `mailplane [all|api|worker]`: run the API, the workers, or both in one process. */
import { createApp } from '../api/app.ts';
import { listenHttp, type HttpListener } from '../api/http-server.ts';
import { apiDeps, createAppContext } from '../app-context.ts';
import { mailAccountNotifier } from '../mail/account-notifier.ts';
import { productRegistrars } from '../app-routes.ts';
import { Shutdown } from '../shutdown.ts';
import { startWorkers } from '../workers.ts';
import { bootstrap } from './bootstrap.ts';
import { stopSignals } from './stop-signals.ts';
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

export function roleCommand(role: Role, summary: string): Command {
  return {
    name: role,
    usage: `mailplane ${role}\n\n${summary}\nReads configuration from the environment (see .env.example).`,
    run: () => runRoles(role),
  };
}
