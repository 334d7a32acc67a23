/**
 * The CLI acts on the world of the running product. With no provider
 * credentials that world is the sandbox `npm start` (or `mailplane sandbox`)
 * runs: found through SANDBOX_URL or the emulator URLs it records in the data
 * dir, and asked for its environment. A CLI command never starts emulators of
 * its own: their empty state would make every server look gone (ghost alerts
 * about a world the command made up), and their URLs would overwrite the
 * running product's record.
 */
import { createAppContext, type AppContext } from '../app-context.ts';
import { loadConfig, type Config } from '../config.ts';
import { readEmulatorUrls } from '../sandbox/person-settings.ts';
import { bootstrap } from './bootstrap.ts';

type Found = { env: Record<string, string> } | { missing: string };

/** The running sandbox's environment ({} when every provider has credentials), or why there is none. */
export async function runningSandboxEnv(config: Config): Promise<Found> {
  if (config.scaleway && config.cloudflare && config.stripe) return { env: {} };
  const recorded = config.sandbox.url ? null : await readEmulatorUrls(config.db.dataDir);
  const control = config.sandbox.url ?? recorded?.control ?? null;
  const where = config.sandbox.url ? `SANDBOX_URL (${config.sandbox.url})` : `the sandbox recorded in ${config.db.dataDir}`;
  if (!control) {
    return {
      missing: `no running sandbox: SANDBOX_URL is unset and no mailplane with sandboxed providers runs on the data dir ${config.db.dataDir} (start it with \`npm start\`, or give provider credentials)`,
    };
  }
  try {
    const res = await fetch(`${control}/env`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return { env: (await res.json()) as Record<string, string> };
  } catch (err) {
    return { missing: `no running sandbox: ${where} does not answer (${err instanceof Error ? err.message : String(err)}); is mailplane still running?` };
  }
}

/**
 * An app context on the running product's providers. `needsProviders`: without a running
 * sandbox, print why and resolve with the exit code 1; otherwise (database-only commands)
 * the providers refuse every call instead of being emulated.
 */
export async function cliContext(opts: { needsProviders: boolean }): Promise<AppContext | number> {
  // Where to look (data dir, SANDBOX_URL); a bad configuration is reported by bootstrap below.
  let probe: Config | null = null;
  try {
    probe = loadConfig();
  } catch {
    probe = null;
  }
  const found = probe ? await runningSandboxEnv(probe) : { env: {} };
  if ('missing' in found && opts.needsProviders) {
    process.stderr.write(`${found.missing}\n`);
    return 1;
  }
  // What the shell sets wins; the sandbox fills in the providers that have no credentials.
  const fromShell = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined && v !== ''));
  const { config, log } = await bootstrap('env' in found ? { ...found.env, ...fromShell } : process.env);
  return createAppContext(config, log, { worker: false, ...('missing' in found ? { providers: { unavailable: found.missing } } : {}) });
}
