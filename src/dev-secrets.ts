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
  if (!config.vault.masterKeys && config.vault.keyFile) {
    const fromFile = (await readFile(config.vault.keyFile, 'utf8')).trim();
    config = { ...config, vault: { ...config.vault, masterKeys: fromFile } };
  }
  if (config.auth.sessionSecret && config.vault.masterKeys) return config;
  const file = join(config.db.dataDir, 'secrets.json');
  let stored: { sessionSecret?: string; vaultMasterKeys?: string } = {};
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as typeof stored;
  } catch {
    stored = {};
  }
  const generated = !stored.sessionSecret || !stored.vaultMasterKeys;
  if (generated) {
    stored.sessionSecret ??= randomBytes(48).toString('base64url');
    stored.vaultMasterKeys ??= `dev1:${randomBytes(32).toString('base64')}`;
    await mkdir(config.db.dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  // Said once, when the secrets are made; afterwards only at debug level (every CLI command
  // would otherwise print both warnings around a one-line answer).
  const say = (line: string) => (generated ? log.warn(line) : log.debug(line));
  if (!config.auth.sessionSecret) say(`SESSION_SECRET is not set: using a generated development secret from ${file}. Set SESSION_SECRET in production.`);
  if (!config.vault.masterKeys)
    say(`VAULT_MASTER_KEYS is not set: using a generated development master key from ${file}. Losing it loses every stored secret.`);
  return {
    ...config,
    auth: { ...config.auth, sessionSecret: config.auth.sessionSecret ?? stored.sessionSecret! },
    vault: { ...config.vault, masterKeys: config.vault.masterKeys ?? stored.vaultMasterKeys! },
  };
}
