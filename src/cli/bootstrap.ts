/** Config + logger for CLI commands, with a readable exit on bad configuration. */
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { resolveDevSecrets } from '../dev-secrets.ts';
import { createLogger, type Logger } from '../log.ts';

export async function bootstrap(env: Record<string, string | undefined> = process.env): Promise<{ config: Config; log: Logger }> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n\nSee .env.example for every variable.\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty });
  return { config: await resolveDevSecrets(config, log), log };
}
