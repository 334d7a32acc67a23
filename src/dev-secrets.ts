/**
 * Development convenience: secrets with no configured value are generated once
 * and kept under the data dir, so sessions survive restarts. Production never
 * gets here (config.ts requires them when NODE_ENV=production).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';

export async function resolveDevSecrets(config: Config, log: Logger): Promise<Config> {
  if (config.auth.sessionSecret) return config;
  const file = join(config.db.dataDir, 'secrets.json');
  let stored: { sessionSecret?: string } = {};
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as typeof stored;
  } catch {
    stored = {};
  }
  if (!stored.sessionSecret) {
    stored.sessionSecret = randomBytes(48).toString('base64url');
    await mkdir(config.db.dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  log.warn(`SESSION_SECRET is not set: using a generated development secret from ${file}. Set SESSION_SECRET in production.`);
  return { ...config, auth: { ...config.auth, sessionSecret: stored.sessionSecret } };
}
