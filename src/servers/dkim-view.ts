/**
 * A server's DKIM keys as the customer, support and the API see them: every generation with its
 * state, its records (the key, or the empty `p=` of a revoked one) and what happens to it next, when.
 */
import { asc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { dkimKeys } from '../db/schema/index.ts';

const NEXT: Record<string, string | null> = { active: 'rotate', retiring: 'revoke', revoked: 'delete' };
const EXPLAIN: Record<string, string> = {
  next: 'Published; signs once receivers can find it.',
  active: 'Signs outgoing mail.',
  retiring: 'No longer signs; stays published for mail still in flight.',
  revoked: 'Revoked: its record answers an empty key, so nothing signed with it verifies.',
  deleted: 'Its record is deleted.',
  retired: 'No longer used.',
};

export async function dkimKeysView(db: Db, serverId: string) {
  const rows = await db.select().from(dkimKeys).where(eq(dkimKeys.serverId, serverId)).orderBy(asc(dkimKeys.createdAt));
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return rows.map((k) => {
    // An emergency rotation revokes the old key's records before the new key signs (revokedAt set while still active).
    const published = (k.state === 'next' || k.state === 'active' || k.state === 'retiring') && !k.revokedAt;
    const record = (selector: string, algorithm: 'rsa' | 'ed25519', key: string) => ({
      algorithm,
      selector,
      type: 'TXT' as const,
      name: `${selector}._domainkey.${k.domain}`,
      content: k.state === 'deleted' ? null : `v=DKIM1; k=${algorithm}; p=${published ? key : ''}`,
    });
    return {
      selector: k.selector,
      ed25519Selector: k.ed25519Selector,
      state: k.state,
      explanation: EXPLAIN[k.state] ?? k.state,
      records: [
        record(k.selector, 'rsa', k.publicKey),
        ...(k.ed25519Selector && k.ed25519PublicKey ? [record(k.ed25519Selector, 'ed25519', k.ed25519PublicKey)] : []),
      ],
      createdAt: k.createdAt.toISOString(),
      confirmedAt: iso(k.confirmedAt),
      activatedAt: iso(k.activatedAt),
      retiredAt: iso(k.retiredAt),
      revokedAt: iso(k.revokedAt),
      deletedAt: iso(k.deletedAt),
      next: k.nextTransitionAt && NEXT[k.state] ? { transition: NEXT[k.state]!, at: k.nextTransitionAt.toISOString() } : null,
    };
  });
}

export type DkimKeyView = Awaited<ReturnType<typeof dkimKeysView>>[number];
