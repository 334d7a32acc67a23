/**
 * issue_tls: ACME certificate for the mail, webmail and MTA-STS names. The
 * script reuses the private key on renewal, so the SPKI hash read back here —
 * and the TLSA 3 1 1 record built from it — stays valid across renewals. The
 * lineage (key, certificate, ACME account) is then kept in the vault, so a
 * rebuilt server gets the same key back (restore_tls) and its TLSA stays valid.
 */
import { eq } from 'drizzle-orm';
import { servers } from '../../src/db/schema/index.ts';
import type { StepDefinition } from '../context.ts';
import { runScript, SCRIPT_DIR, withSession } from '../remote.ts';
import { secretOwner } from '../server-keys.ts';

export const TLS_LINEAGE_SECRET = 'tls_lineage';

export const issueTls: StepDefinition = {
  name: 'issue_tls',
  async run({ deps, server, log }) {
    const { spki, lineage } = await withSession(deps, server, async (session) => {
      await runScript(session, 'issue-tls.sh', log);
      const spki = (await session.exec(`bash ${SCRIPT_DIR}/tls-spki.sh`)).stdout.trim().toLowerCase();
      // check: false — a failed export's stdout may hold part of the key, which must not reach an error message.
      const exported = await session.exec(`bash ${SCRIPT_DIR}/tls-lineage.sh export`, { check: false });
      if (exported.code !== 0) throw new Error(`tls-lineage.sh export failed: ${exported.stderr.trim().slice(0, 200)}`);
      return { spki, lineage: exported.stdout.trim() };
    });
    if (!/^[0-9a-f]{64}$/.test(spki)) throw new Error(`tls-spki.sh printed no SHA-256 SPKI hash (got "${spki.slice(0, 80)}")`);
    if (!/^[A-Za-z0-9+/=]+$/.test(lineage)) throw new Error('tls-lineage.sh export printed no base64 lineage');
    await deps.database.db.transaction(async (tx) => {
      await deps.vault.put(tx, secretOwner(server, TLS_LINEAGE_SECRET), lineage);
      await tx.update(servers).set({ tlsSpkiSha256: spki, updatedAt: new Date() }).where(eq(servers.id, server.id));
    });
    log(`TLS key SPKI sha256 ${spki}; lineage kept in the vault`);
    return { spkiSha256: spki };
  },
};
