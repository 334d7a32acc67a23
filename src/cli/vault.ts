/** `mailplane vault status` and `mailplane vault rotate`. */
import { parseArgs } from 'node:util';
import { connectDatabaseUrl } from '../app-context.ts';
import { audit } from '../audit.ts';
import { openDatabase } from '../db/client.ts';
import { rotateVault, secretsByKey } from '../vault/rotate.ts';
import { parseMasterKeys } from '../vault/master-keys.ts';
import { Vault } from '../vault/vault.ts';
import { bootstrap } from './bootstrap.ts';
import type { Command } from './command.ts';

const USAGE = `mailplane vault status
mailplane vault rotate [--batch N]

status  secrets per master key id (the first key of VAULT_MASTER_KEYS is active)
rotate  re-wraps every data key still under an older master key with the active
        one. Safe to interrupt (Ctrl-C stops after the current batch) and to run
        again: it carries on where it stopped. When status shows no secret under
        an old key id, remove that key from VAULT_MASTER_KEYS.`;

export const vaultCommand: Command = {
  name: 'vault',
  usage: USAGE,
  async run(args) {
    const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { batch: { type: 'string' } } });
    const action = positionals[0];
    const batchSize = values.batch ? Number(values.batch) : 200;
    if ((action !== 'status' && action !== 'rotate') || !Number.isInteger(batchSize) || batchSize < 1) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const { config, log } = await bootstrap();
    const vault = new Vault(parseMasterKeys(config.vault.masterKeys!));
    const { url, embedded } = await connectDatabaseUrl(config, log);
    const database = openDatabase(url, { max: 2 });
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      if (action === 'status') {
        const counts = await secretsByKey(database.db);
        process.stdout.write(`active key: ${vault.activeKeyId}\n`);
        for (const [keyId, n] of Object.entries(counts)) {
          const note =
            keyId === vault.activeKeyId ? '' : vault.keyIds.includes(keyId) ? ' (old: run rotate)' : ' (NOT CONFIGURED: these secrets cannot be read)';
          process.stdout.write(`${keyId}: ${n} secret(s)${note}\n`);
        }
        return 0;
      }
      const result = await rotateVault(database.db, vault, {
        batchSize,
        signal: stop.signal,
        onBatch: (p) => process.stdout.write(`re-wrapped ${p.rewrapped}, ${p.remaining} left\n`),
      });
      await audit(
        database.db,
        { id: `cli:${process.env['USER'] ?? 'unknown'}`, kind: 'system', ip: null },
        {
          action: 'vault.rotate',
          details: { activeKeyId: vault.activeKeyId, ...result, interrupted: stop.signal.aborted },
        },
      );
      process.stdout.write(
        result.remaining === 0
          ? `done: every secret is under ${vault.activeKeyId}\n`
          : `stopped with ${result.remaining} secret(s) left: run it again to continue\n`,
      );
      return result.remaining === 0 ? 0 : 1;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await database.close();
      await embedded?.stop();
    }
  },
};
