/**
 * issue_tls: ACME certificate for the mail, webmail and MTA-STS names. The
 * script reuses the private key on renewal, so the SPKI hash read back here —
 * and the TLSA 3 1 1 record built from it — stays valid across renewals.
 */
import { eq } from 'drizzle-orm';
import { servers } from '../../src/db/schema/index.ts';
import type { StepDefinition } from '../context.ts';
import { runScript, withSession } from '../remote.ts';

export const issueTls: StepDefinition = {
  name: 'issue_tls',
  async run({ deps, server, log }) {
    const spki = await withSession(deps, server, async (session) => {
      await runScript(session, 'issue-tls.sh', log);
      return (await session.exec('bash /opt/mailplane/bin/tls-spki.sh')).stdout.trim().toLowerCase();
    });
    if (!/^[0-9a-f]{64}$/.test(spki)) throw new Error(`tls-spki.sh printed no SHA-256 SPKI hash (got "${spki.slice(0, 80)}")`);
    await deps.database.db.update(servers).set({ tlsSpkiSha256: spki, updatedAt: new Date() }).where(eq(servers.id, server.id));
    log(`TLS key SPKI sha256 ${spki}`);
    return { spkiSha256: spki };
  },
};
