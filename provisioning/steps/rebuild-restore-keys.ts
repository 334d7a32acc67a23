/**
 * The rebuilt host gets back what the control plane holds, so nothing in DNS
 * changes: restore_tls puts the vault's TLS lineage back (same key, so the
 * TLSA record still matches once issue_tls has run), and restore_mailboxes
 * pushes the mailbox set (passwords as hashes, aliases) as the sync job does.
 * The SSH host key came back through cloud-init (create_server) and the DKIM
 * key through install_mail_stack, both from the vault too.
 */
import { and, asc, eq } from 'drizzle-orm';
import { mailboxes } from '../../src/db/schema/index.ts';
import { pushMailboxSet } from '../../src/mailboxes/sync.ts';
import { VaultError } from '../../src/vault/vault.ts';
import type { StepDefinition } from '../context.ts';
import { runScript, withSession } from '../remote.ts';
import { secretOwner } from '../server-keys.ts';
import { TLS_LINEAGE_SECRET } from './issue-tls.ts';

export const restoreTls: StepDefinition = {
  name: 'restore_tls',
  async run({ deps, server, log }) {
    let lineage: string;
    try {
      lineage = await deps.vault.get(deps.database.db, secretOwner(server, TLS_LINEAGE_SECRET));
    } catch (err) {
      if (!(err instanceof VaultError)) throw err;
      // A server issued before lineages were kept: issue_tls makes a new key and publish_tlsa follows it.
      log('no TLS lineage in the vault: issue_tls issues a new key and publish_tlsa publishes its TLSA record');
      return { restored: false };
    }
    await withSession(deps, server, (session) => runScript(session, 'tls-lineage.sh import', log, lineage));
    return { restored: true };
  },
};

export const restoreMailboxes: StepDefinition = {
  name: 'restore_mailboxes',
  async run({ deps, server, log }) {
    // Oldest first, as the sync job orders them: the first mailbox also receives postmaster@ and abuse@.
    const rows = await deps.database.db
      .select()
      .from(mailboxes)
      .where(and(eq(mailboxes.serverId, server.id), eq(mailboxes.state, 'active')))
      .orderBy(asc(mailboxes.createdAt), asc(mailboxes.id));
    await pushMailboxSet(deps, server, rows, log);
    return { mailboxes: rows.length };
  },
};
