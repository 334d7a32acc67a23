/** How a long-running mailplane command hears that it should stop (`mailplane [all|api|worker]`, `mailplane sandbox`). */
import type { Logger } from '../log.ts';

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
