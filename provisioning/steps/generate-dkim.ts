/** generate_dkim: a per-domain RSA-2048 key; the private part goes to the vault, the public part to DNS. */
import { generateKeyPair, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { and, eq } from 'drizzle-orm';
import { dkimKeys } from '../../src/db/schema/index.ts';
import type { StepDefinition } from '../context.ts';

/** Selector names the month of creation, so a future rotation gets a new one (mp202611 → mp202705). */
export function dkimSelector(now: Date): string {
  return `mp${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

export const generateDkim: StepDefinition = {
  name: 'generate_dkim',
  async run({ deps, server, log }) {
    const db = deps.database.db;
    const [active] = await db.select().from(dkimKeys).where(and(eq(dkimKeys.serverId, server.id), eq(dkimKeys.domain, server.domain), eq(dkimKeys.state, 'active')));
    if (active) {
      log(`DKIM key ${active.selector} already exists`);
      return { selector: active.selector };
    }
    // RSA-2048: what every receiver verifies; ed25519 DKIM is still not universally supported.
    // Generated off the event loop: prime search takes tens of milliseconds and would stall every other step of this worker.
    const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
    const id = randomUUID();
    const selector = dkimSelector(new Date(deps.clock.now()));
    await db.transaction(async (tx) => {
      const secretId = await deps.vault.put(tx, { table: 'dkim_keys', id, workspaceId: server.workspaceId, purpose: 'dkim_private_key' },
        privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      await tx.insert(dkimKeys).values({
        id, serverId: server.id, domain: server.domain, selector, state: 'active', privateKeySecretId: secretId,
        publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      }).onConflictDoNothing();
    });
    log(`generated DKIM key ${selector}._domainkey.${server.domain}`);
    return { selector };
  },
};
