/**
 * generate_dkim: the domain's first DKIM generation (RSA-2048, and Ed25519 beside it unless
 * DKIM_ED25519=false), private parts in the vault, public parts to DNS (publish_dns). Later
 * generations come from a DKIM rotation (provisioning/dkim/).
 */
import type { StepDefinition } from '../context.ts';
import { createGeneration, keysOf } from '../dkim/keys.ts';

export const generateDkim: StepDefinition = {
  name: 'generate_dkim',
  async run({ deps, server, log }) {
    const [active] = await keysOf(deps.database.db, server.id, server.domain, 'active');
    if (active) {
      log(`DKIM key ${active.selector} already exists`);
      return { selector: active.selector };
    }
    // Two attempts racing both reach here: the partial unique index (one active key per domain) lets one in.
    const key = await createGeneration(deps, server, 'active');
    log(`generated DKIM key ${key.selector}._domainkey.${server.domain}${key.ed25519Selector ? ` and Ed25519 key ${key.ed25519Selector}` : ''}`);
    return { selector: key.selector, ...(key.ed25519Selector ? { ed25519Selector: key.ed25519Selector } : {}) };
  },
};
